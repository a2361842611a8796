/// Clients turned away by a full queue, in the order they were first turned away, so that a slot
/// that frees goes to the client that has waited longest rather than to whoever retries fastest.
/// Without it, clients that honour `Retry-After` lose every freed slot to clients that hammer
/// the server (seen: 2 of 16 polite clients never got a 200 in 3 minutes of overload).
///
/// A client is named by its address; an entry lapses when its client does not come back within
/// the advised wait plus `grace`. Requests without a name (warm-up, tests) queue behind everyone
/// waiting. Not thread-safe: `InferenceExecutor` calls it under its lock.
struct AdmissionWaitlist {
    private struct Entry {
        let client: String
        var expires: ContinuousClock.Instant
    }

    private var entries: [Entry] = []
    /// How long past its advised wait a place is kept.
    let grace: Duration

    init(grace: Duration = .seconds(10)) {
        self.grace = grace
    }

    var count: Int { entries.count }

    /// Whether `client` may take one of `freeSlots` now: those who waited longer go first. An
    /// admitted client leaves the list.
    mutating func admit(_ client: String?, freeSlots: Int, now: ContinuousClock.Instant) -> Bool {
        purge(now)
        guard let client, let place = entries.firstIndex(where: { $0.client == client }) else {
            return freeSlots > entries.count
        }
        guard freeSlots > place else { return false }
        entries.remove(at: place)
        return true
    }

    /// Whether `client` could take one of `freeSlots` now, without taking it.
    func wouldAdmit(_ client: String?, freeSlots: Int, now: ContinuousClock.Instant) -> Bool {
        let waiting = entries.filter { $0.expires > now }
        guard let client, let place = waiting.firstIndex(where: { $0.client == client }) else { return freeSlots > waiting.count }
        return freeSlots > place
    }

    /// Turns `client` away: it keeps (or takes, at the end) its place in line, for the wait that
    /// `advisedWait` gives for that place (1 = next) plus `grace`. Returns that wait.
    mutating func refuse(_ client: String?, now: ContinuousClock.Instant, advisedWait: (Int) -> Duration) -> Duration {
        purge(now)
        guard let client else { return advisedWait(entries.count + 1) }
        let index = entries.firstIndex(where: { $0.client == client }) ?? {
            entries.append(Entry(client: client, expires: now))
            return entries.count - 1
        }()
        let wait = advisedWait(index + 1)
        entries[index].expires = now + wait + grace
        return wait
    }

    private mutating func purge(_ now: ContinuousClock.Instant) {
        entries.removeAll { $0.expires <= now }
    }
}
