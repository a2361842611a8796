import Foundation
import HTTPTypes
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The cluster as a team would run it (`TestCluster`: PostgreSQL, nginx, two API replicas without
/// inference, two workers), loaded over loopback only and bounded in count and time: the load is
/// spread over both replicas and every result is served by either; a worker killed with -9 in the
/// middle of a job loses it to the other worker, which finishes it; PostgreSQL stopped under load
/// gives clear 503s, and the cluster recovers by itself when it is back.
@Suite("Cluster: replicas and workers sharing PostgreSQL behind nginx", .serialized)
struct ClusterTests {
    /// One small photo per request, different each time (a gradient with a varying size).
    static func smallPhoto(_ index: Int) -> MultipartBody {
        var form = MultipartBody()
        form.addFile(fileName: "small\(index).png", data: TestImages.png(width: 40 + index % 17, height: 32 + index % 11), type: "image/png")
        return form
    }

    static func post(_ url: String, _ form: MultipartBody, timeout: Duration = .seconds(120)) async throws -> (status: Int, body: Data) {
        try await LoopbackHTTP.send(.post, url, headers: [.contentType: form.contentType], body: form.body, timeout: timeout)
    }

    static func json(_ data: Data) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
    }

    /// The result file names of a `/api/process` answer or a succeeded job.
    static func fileNames(_ body: [String: Any]) -> [String] {
        ((body["results"] as? [[String: Any]]) ?? []).compactMap { $0["filename"] as? String }
    }

    /// Polls a job through `base` until it is final (at most `timeout`); its last object.
    static func waitForJob(_ base: String, _ id: String, timeout: Duration = .seconds(120)) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + timeout
        var last: [String: Any] = [:]
        while ContinuousClock.now < deadline {
            let response = try await LoopbackHTTP.get("\(base)/api/jobs/\(id)", timeout: .seconds(30))
            if response.status == 200 {
                last = json(response.body)
                if ["succeeded", "failed", "cancelled"].contains(last["status"] as? String ?? "") { return last }
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        return last
    }

    @Test(.enabled(if: TestCluster.available), .timeLimit(.minutes(8)))
    func loadIsSpreadOverBothReplicasAndEveryResultIsServedByEither() async throws {
        try await isolated {
            let cluster = try TestCluster()
            defer { cluster.stop() }
            let total = 200
            // 8 clients at once; every fifth request is a job, followed until it ends.
            let outcomes = try await withThrowingTaskGroup(of: (Int, [String]).self) { group in
                var next = 0
                var outcomes: [(Int, [String])] = []
                func add(_ index: Int) {
                    group.addTask {
                        if index % 5 == 4 {
                            let submitted = try await Self.post("\(cluster.baseURL)/api/jobs", Self.smallPhoto(index))
                            guard submitted.status == 202, let id = Self.json(submitted.body)["job_id"] as? String else {
                                return (submitted.status, [])
                            }
                            let job = try await Self.waitForJob(cluster.baseURL, id)
                            return (job["status"] as? String == "succeeded" ? 200 : 500, Self.fileNames(job))
                        }
                        let response = try await Self.post("\(cluster.baseURL)/api/process", Self.smallPhoto(index))
                        return (response.status, Self.fileNames(Self.json(response.body)))
                    }
                }
                while next < 8 { add(next); next += 1 }
                while let outcome = try await group.next() {
                    outcomes.append(outcome)
                    if next < total { add(next); next += 1 }
                }
                return outcomes
            }
            #expect(outcomes.count == total)
            let failed = outcomes.filter { $0.0 != 200 }
            #expect(failed.isEmpty, "statuses other than 200: \(failed.map(\.0))\n\(cluster.logs)")
            let names = outcomes.flatMap(\.1)
            #expect(names.count == total)
            #expect(Set(names).count == total, "a result name was given twice")

            // Every result, from each replica directly: the same bytes, a real PNG.
            for name in names {
                let first = try await LoopbackHTTP.get("\(cluster.replicas[0].baseURL)/static/results/\(name)")
                let second = try await LoopbackHTTP.get("\(cluster.replicas[1].baseURL)/static/results/\(name)")
                #expect(first.status == 200 && second.status == 200, "\(name): \(first.status) / \(second.status)")
                #expect(first.body == second.body)
                #expect(first.body.starts(with: [0x89, 0x50, 0x4E, 0x47]))
            }
            // nginx spread the requests: each replica answered a fair share of the submissions.
            for replica in cluster.replicas {
                let submissions = replica.output.components(separatedBy: "method=POST").count - 1
                #expect(submissions >= total / 4, "a replica took only \(submissions) of \(total) submissions")
            }
            // Both workers ran jobs, none ran twice.
            #expect(try cluster.sql("SELECT count(*) FROM facerestore_jobs WHERE state = 'succeeded'") == "\(total)")
            #expect(try cluster.sql("SELECT max(attempts) FROM facerestore_jobs") == "1")
            #expect(try cluster.sql("SELECT count(DISTINCT finished_by) FROM facerestore_jobs") == "2", "both workers ran jobs")
            // Each worker's own metrics count the photos it restored; together, every one.
            var detected = 0.0
            for worker in cluster.workers {
                let text = String(decoding: try await LoopbackHTTP.get("http://127.0.0.1:\(worker.port)/metrics").body, as: UTF8.self)
                let line = text.split(separator: "\n").first { $0.hasPrefix(#"facerestore_stage_duration_seconds_count{stage="detect"}"#) }
                let count = line.flatMap { $0.split(separator: " ").last }.flatMap { Double($0) } ?? 0
                #expect(count > 0, "a worker's metrics show no detection")
                detected += count
                #expect(text.contains("facerestore_queue_capacity 1000"))
                if Promtool.enabled {
                    let check = try Promtool.checkMetrics(text)
                    #expect(check.status == 0, "\(check.output)")
                }
                #expect((try await LoopbackHTTP.get("http://127.0.0.1:\(worker.port)/api/ready")).status == 200)
            }
            #expect(detected == Double(total))
        }
    }

    @Test(.enabled(if: TestCluster.available), .timeLimit(.minutes(6)))
    func aJobOfAWorkerKilledMidwayIsFinishedByTheOtherWorker() async throws {
        try await isolated {
            let cluster = try TestCluster()
            defer { cluster.stop() }
            // A job long enough to be caught running: three real one-face photos.
            let photo = try Data(contentsOf: Fixtures.url("images/04.jpg"))
            var form = MultipartBody()
            for index in 0..<3 { form.addFile(fileName: "face\(index).jpg", data: photo, type: "image/jpeg") }
            let submitted = try await Self.post("\(cluster.baseURL)/api/jobs", form)
            #expect(submitted.status == 202)
            let id = try #require(Self.json(submitted.body)["job_id"] as? String)

            // Wait until a worker runs it, then kill that worker with -9.
            var owner = ""
            let deadline = ContinuousClock.now + .seconds(60)
            while owner.isEmpty, ContinuousClock.now < deadline {
                owner = try cluster.sql("SELECT coalesce(lease_owner, '') FROM facerestore_jobs WHERE id = '\(id)' AND state = 'running'")
                if owner.isEmpty { try await Task.sleep(for: .milliseconds(20)) }
            }
            let victim = try #require(cluster.workers.first { owner.contains("-\($0.pid)-") }, "no worker owns the job: '\(owner)'")
            try await Task.sleep(for: .milliseconds(300))  // into the work
            victim.kill()
            let killedAt = ContinuousClock.now

            let job = try await Self.waitForJob(cluster.baseURL, id, timeout: .seconds(180))
            #expect(job["status"] as? String == "succeeded", "\(job)\n\(cluster.logs)")
            #expect(try cluster.sql("SELECT attempts FROM facerestore_jobs WHERE id = '\(id)'") == "2")
            let survivor = try #require(cluster.workers.first { $0 !== victim })
            #expect(survivor.output.contains("\(id)") || survivor.isRunning)
            let names = Self.fileNames(job)
            #expect(names.count == 3)
            for name in names {
                let result = try await LoopbackHTTP.get("\(cluster.baseURL)/static/results/\(name)")
                #expect(result.status == 200)
            }
            print("job \(id) finished by the other worker \(ContinuousClock.now - killedAt) after kill -9 of its first")
        }
    }

    @Test(.enabled(if: TestCluster.available), .timeLimit(.minutes(6)))
    func postgresStoppedUnderLoadGives503sThenTheClusterRecovers() async throws {
        try await isolated {
            let cluster = try TestCluster()
            defer { cluster.stop() }
            let statuses = StatusLog()
            let stopLoad = Flag()
            // Four clients sending small photos until told to stop (bounded: at most 400 requests).
            let load = Task {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for client in 0..<4 {
                        group.addTask {
                            for index in 0..<100 where !stopLoad.isSet {
                                let response = try? await Self.post("\(cluster.baseURL)/api/process", Self.smallPhoto(client * 100 + index),
                                                                    timeout: .seconds(90))
                                statuses.add(response?.status ?? 0, body: response?.body ?? Data())
                                if response?.status != 200 { try await Task.sleep(for: .milliseconds(100)) }
                            }
                        }
                    }
                    try await group.waitForAll()
                }
            }
            try await Task.sleep(for: .seconds(3))
            let beforeOutage = statuses.count(200)
            cluster.postgres.kill()
            // New requests while it is down (the clients above are waiting on requests in flight,
            // which wait for the database to come back): each is refused within seconds.
            let outage = StatusLog()
            let outageStart = ContinuousClock.now
            for index in 0..<4 {
                let response = try await Self.post("\(cluster.baseURL)/api/process", Self.smallPhoto(500 + index), timeout: .seconds(30))
                outage.add(response.status, body: response.body)
            }
            let readiness = try await LoopbackHTTP.get("\(cluster.replicas[0].baseURL)/api/ready", timeout: .seconds(30))
            let jobLookup = try await LoopbackHTTP.get("\(cluster.baseURL)/api/jobs/0123456789abcdef0123456789abcdef", timeout: .seconds(30))
            outage.add(jobLookup.status, body: jobLookup.body)
            let outageSeconds = ContinuousClock.now - outageStart
            let duringOutage = outage.snapshot()
            try cluster.postgres.start()

            // Recovery without restarting anything: both replicas ready again.
            let recoveryDeadline = ContinuousClock.now + .seconds(90)
            var ready = [false, false]
            while ready.contains(false), ContinuousClock.now < recoveryDeadline {
                for (index, replica) in cluster.replicas.enumerated() where !ready[index] {
                    ready[index] = (try? await LoopbackHTTP.get("\(replica.baseURL)/api/ready", timeout: .seconds(10)))?.status == 200
                }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(ready == [true, true], "\(cluster.logs)")
            let afterRecovery = statuses.count(200)
            try await Task.sleep(for: .seconds(5))
            stopLoad.set()
            _ = try await load.value

            #expect(beforeOutage > 0)
            #expect(duringOutage.allSatisfy { $0.status == 503 && $0.message.contains("job database") },
                    "\(duringOutage.map { "\($0.status) \($0.message)" })")
            #expect(readiness.status == 503)
            #expect(outageSeconds < .seconds(60), "five requests took \(outageSeconds) to be refused")
            #expect(statuses.count(200) > afterRecovery, "no request succeeded after recovery\n\(cluster.logs)")
            let unexpected = statuses.snapshot().filter { $0.status != 200 && $0.status != 503 }
            #expect(unexpected.isEmpty, "statuses other than 200 and 503: \(unexpected.map { "\($0.status) \($0.message)" })")
            // After recovery every new request succeeds.
            for index in 0..<10 {
                let response = try await Self.post("\(cluster.baseURL)/api/process", Self.smallPhoto(1000 + index))
                #expect(response.status == 200)
            }
        }
    }
}

extension ClusterTests {
    @Test(.enabled(if: TestCluster.available), .timeLimit(.minutes(5)))
    func theQueueBoundCancellationDeadlinesMetricsAndEventsHoldAcrossReplicas() async throws {
        try await isolated {
            // No worker yet: jobs stay queued, so the cluster's queue can be looked at.
            let cluster = try TestCluster(workers: 0, replicaArguments: ["--queue-depth", "2", "--job-timeout", "4s"])
            defer { cluster.stop() }
            let (a, b) = (cluster.replicas[0].baseURL, cluster.replicas[1].baseURL)
            let first = try await Self.post("\(a)/api/jobs", Self.smallPhoto(1))
            let second = try await Self.post("\(b)/api/jobs", Self.smallPhoto(2))
            #expect(first.status == 202 && second.status == 202)
            let firstID = try #require(Self.json(first.body)["job_id"] as? String)
            let secondID = try #require(Self.json(second.body)["job_id"] as? String)
            // The bound is the cluster's: two wait, whichever replica took them, so a third is refused.
            let third = try await LoopbackHTTP.send(.post, "\(a)/api/jobs", headers: [.contentType: Self.smallPhoto(3).contentType],
                                                    body: Self.smallPhoto(3).body)
            #expect(third.status == 503)
            #expect((Self.json(third.body)["message"] as? String ?? "").contains("at capacity; retry in"))

            // Either replica reports either job, with its place in the cluster's queue.
            #expect(Self.json(try await LoopbackHTTP.get("\(b)/api/jobs/\(firstID)").body)["queue_position"] as? Int == 1)
            #expect(Self.json(try await LoopbackHTTP.get("\(a)/api/jobs/\(secondID)").body)["queue_position"] as? Int == 2)
            let cancelled = try await LoopbackHTTP.send(.delete, "\(b)/api/jobs/\(firstID)")
            #expect(Self.json(cancelled.body)["status"] as? String == "cancelled")
            #expect(Self.json(try await LoopbackHTTP.get("\(a)/api/jobs/\(secondID)").body)["queue_position"] as? Int == 1)

            // The metrics of either replica count the cluster's queue.
            let metrics = String(decoding: try await LoopbackHTTP.get("\(a)/metrics").body, as: UTF8.self)
            #expect(metrics.contains("facerestore_queue_waiting 1"))
            #expect(metrics.contains("facerestore_queue_capacity 2"))
            #expect(metrics.contains(#"facerestore_jobs{state="cancelled"} 1"#))

            // The job timeout holds without a worker: the queued job fails with 504 when it is over.
            let late = try await Self.waitForJob(b, secondID, timeout: .seconds(30))
            #expect(late["status"] as? String == "failed")
            let error = late["error"] as? [String: Any]
            #expect(error?["status_code"] as? Int == 504)
            #expect((error?["message"] as? String ?? "").contains("job timeout of 4 s"))

            // With a worker: a job taken by one replica is followed to its end on the other's event stream.
            try cluster.addWorker()
            let submitted = try await Self.post("\(a)/api/jobs", Self.smallPhoto(4))
            let id = try #require(Self.json(submitted.body)["job_id"] as? String)
            let events = try await LoopbackHTTP.get("\(b)/api/jobs/\(id)/events", timeout: .seconds(120))
            let text = String(decoding: events.body, as: UTF8.self)
            #expect(events.status == 200)
            #expect(text.contains("event: succeeded"), "\(text)")
            let last = text.components(separatedBy: "data: ").last.map { Self.json(Data($0.utf8)) } ?? [:]
            #expect(Self.fileNames(last).count == 1)
        }
    }
}

extension ClusterTests {
    @Test(.enabled(if: TestCluster.available), .timeLimit(.minutes(4)))
    func aReplicaWithInferenceRunsTheClustersJobsItself() async throws {
        try await isolated {
            // `serve --store` without --no-inference: a replica and a worker in one process.
            let cluster = try TestCluster(replicas: 1, workers: 0, inference: true)
            defer { cluster.stop() }
            var form = MultipartBody()
            form.addFile(fileName: "face.jpg", data: try Data(contentsOf: Fixtures.url("images/04.jpg")), type: "image/jpeg")
            form.addField("return_base64", "true")
            let response = try await Self.post("\(cluster.baseURL)/api/process", form)
            #expect(response.status == 200, "\(String(decoding: response.body, as: UTF8.self))\n\(cluster.logs)")
            let item = try #require((Self.json(response.body)["results"] as? [[String: Any]])?.first)
            #expect(item["faces_found"] as? Int == 1)
            #expect(item["faces_restored"] as? Int == 1)
            let stored = try await LoopbackHTTP.get("\(cluster.baseURL)/static/results/\(item["filename"] as? String ?? "")")
            #expect(stored.status == 200)
            #expect(Data(base64Encoded: item["image_base64"] as? String ?? "") == stored.body)
            let health = Self.json(try await LoopbackHTTP.get("\(cluster.baseURL)/api/health").body)
            #expect((health["models"] as? [String: String])?["codeformer.pth"] == "loaded")
            #expect((health["results"] as? [String: Any])?["files"] as? Int == 1)
        }
    }
}

extension ClusterTests {
    @Test(.enabled(if: TestCluster.available), .timeLimit(.minutes(3)))
    func aStoppingReplicaAnswersItsWaitingRequestsWithinTheGraceAndCancelsTheirJobs() async throws {
        try await isolated {
            // No worker: the request's job stays queued, and its replica is told to stop.
            let cluster = try TestCluster(replicas: 1, workers: 0, replicaArguments: ["--shutdown-grace", "2s"])
            defer { cluster.stop() }
            let replica = cluster.replicas[0]
            let waiting = Task { try await Self.post("\(replica.baseURL)/api/process", Self.smallPhoto(1), timeout: .seconds(60)) }
            let deadline = ContinuousClock.now + .seconds(30)
            while try cluster.sql("SELECT count(*) FROM facerestore_jobs") != "1", ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            let signalled = ContinuousClock.now
            replica.signal(SIGTERM)
            let response = try await waiting.value
            #expect(response.status == 503)
            #expect((Self.json(response.body)["message"] as? String ?? "").contains("shutting down"))
            #expect(ContinuousClock.now - signalled < .seconds(15))
            #expect(replica.waitForExit(timeout: .seconds(30)) == 0, "\(replica.output.suffix(2000))")
            #expect(try cluster.sql("SELECT state FROM facerestore_jobs") == "cancelled")
        }
    }
}

/// The statuses (and error messages) clients got, from many tasks.
final class StatusLog: @unchecked Sendable {
    struct Entry { let status: Int; let message: String }
    private let lock = NSLock()
    private var entries: [Entry] = []

    func add(_ status: Int, body: Data) {
        let message = (ClusterTests.json(body)["message"] as? String) ?? ""
        lock.withLock { entries.append(Entry(status: status, message: message)) }
    }

    func count(_ status: Int) -> Int { lock.withLock { entries.filter { $0.status == status }.count } }
    func snapshot() -> [Entry] { lock.withLock { entries } }
}

/// A flag set once, read from many tasks.
final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}
