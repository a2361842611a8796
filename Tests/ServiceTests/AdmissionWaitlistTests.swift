import Foundation
import Testing
@testable import Service

/// Fairness under overload: a client turned away keeps its place, so a freed slot goes to it and
/// not to whoever retries fastest; the advised wait is when its slot is expected to free.
@Suite("Admission waitlist and Retry-After")
struct AdmissionWaitlistTests {
    let now = ContinuousClock.now

    @Test("a freed slot goes to the client turned away first, not to a newcomer")
    func firstComeFirstServed() {
        var list = AdmissionWaitlist()
        let waits = [1, 2].map { place in list.refuse("10.0.0.\(place)", now: now) { .seconds($0 * 10) } }
        #expect(waits == [.seconds(10), .seconds(20)])
        // One slot frees: only the first in line may take it.
        let newcomer = list.admit("10.0.0.9", freeSlots: 1, now: now)
        let second = list.admit("10.0.0.2", freeSlots: 1, now: now)
        let first = list.admit("10.0.0.1", freeSlots: 1, now: now)
        #expect(!newcomer && !second && first)
        #expect(list.count == 1)
        // Coming back early keeps the place (and is told its current wait).
        let again = list.refuse("10.0.0.2", now: now) { .seconds($0 * 10) }
        #expect(again == .seconds(10))
        #expect(list.count == 1)
        let secondNow = list.admit("10.0.0.2", freeSlots: 1, now: now)
        let newcomerNow = list.admit("10.0.0.9", freeSlots: 1, now: now)
        #expect(secondNow && newcomerNow)
    }

    @Test("a place lapses when its client does not come back within its wait plus the grace")
    func lapse() {
        var list = AdmissionWaitlist(grace: .seconds(5))
        _ = list.refuse("a", now: now) { _ in .seconds(3) }
        #expect(!list.wouldAdmit("b", freeSlots: 1, now: now + .seconds(7)))
        #expect(list.wouldAdmit("b", freeSlots: 1, now: now + .seconds(9)))
        let admitted = list.admit("b", freeSlots: 1, now: now + .seconds(9))
        #expect(admitted)
    }

    @Test("the executor hands a freed slot to the client it turned away, and advises the time left of the running job")
    func executorFairness() async throws { try await isolated { try await Self.executorFairnessBody() } }

    static func executorFairnessBody() async throws {
        let executor = InferenceExecutor(queueDepth: 0)
        defer { executor.shutdown() }
        let gate = DispatchSemaphore(value: 0)
        let first = Task(executorPreference: TestServerExecutor.shared) { try await executor.run(client: "busy") { gate.wait() } }
        try await waitUntil { executor.status.running }
        // The default estimate is 5 s per job: the running one has about 5 s left.
        let advised = try #require(executor.retryAfterIfFull(client: "polite"))
        #expect((4...5).contains(advised), "\(advised)")
        gate.signal()
        try await first.value
        try await waitUntil { !executor.status.running }
        // The slot is free, but it is the polite client's: a fast retrier is turned away...
        await #expect { try await executor.run(client: "hammer") { () } } throws: { error in
            guard case ServiceError.atCapacity = error else { return false }
            return true
        }
        #expect(executor.retryAfterIfFull(client: "hammer") != nil)
        // ...and the polite client gets in, after which the hammering one does too.
        #expect(executor.retryAfterIfFull(client: "polite") == nil)
        try await executor.run(client: "polite") { () }
        try await executor.run(client: "hammer") { () }
    }
}
