/// One metric family of `/metrics`: its name and the `# HELP` text printed for it. Every family
/// the service exports is listed here, so names and help live in one place.
struct MetricFamily: Sendable, Equatable {
    let name: String
    let help: String
}

extension MetricFamily {
    static let httpRequests = MetricFamily(
        name: "facerestore_http_requests_total",
        help: "HTTP requests answered, by route template (unmatched: no route), method and status.")
    static let httpRequestDuration = MetricFamily(
        name: "facerestore_http_request_duration_seconds",
        help: "Time from a request's arrival to the end of its response body, by route template.")
    static let queueWaiting = MetricFamily(
        name: "facerestore_queue_waiting",
        help: "Restorations waiting in the inference queue.")
    static let queueRunning = MetricFamily(
        name: "facerestore_queue_running",
        help: "Restorations running on the inference thread (0 or 1).")
    static let queueCapacity = MetricFamily(
        name: "facerestore_queue_capacity",
        help: "Restorations that may wait while one runs (--queue-depth).")
    static let queueWait = MetricFamily(
        name: "facerestore_queue_wait_seconds",
        help: "Time a restoration waited in the queue before it started.")
    static let stageDuration = MetricFamily(
        name: "facerestore_stage_duration_seconds",
        help: "Time spent in each pipeline stage of a restoration.")
    static let facesFound = MetricFamily(
        name: "facerestore_faces_found_total",
        help: "Faces detected in restored images.")
    static let facesRestored = MetricFamily(
        name: "facerestore_faces_restored_total",
        help: "Faces restored and pasted back.")
    static let jobs = MetricFamily(
        name: "facerestore_jobs",
        help: "Jobs known to the service, by state.")
    static let jobsFinished = MetricFamily(
        name: "facerestore_jobs_finished_total",
        help: "Jobs that reached a final state, by that state.")
    static let resultFiles = MetricFamily(
        name: "facerestore_results_files",
        help: "Result files in the results folder.")
    static let resultBytes = MetricFamily(
        name: "facerestore_results_bytes",
        help: "Bytes of the result files in the results folder.")
    static let resultsWritable = MetricFamily(
        name: "facerestore_results_writable",
        help: "Whether a result can be written to the results folder now (1) or not (0; see /api/health).")
    static let modelLoaded = MetricFamily(
        name: "facerestore_model_loaded",
        help: "Whether a model file is loaded (1) or not (0), with its state: loaded, missing or unusable.")
    static let residentMemory = MetricFamily(
        name: "process_resident_memory_bytes",
        help: "Resident memory size in bytes.")
    static let startTime = MetricFamily(
        name: "process_start_time_seconds",
        help: "Start time of the process since the Unix epoch in seconds.")

    static let all: [MetricFamily] = [
        httpRequests, httpRequestDuration, queueWaiting, queueRunning, queueCapacity, queueWait, stageDuration,
        facesFound, facesRestored, jobs, jobsFinished, resultFiles, resultBytes, resultsWritable, modelLoaded,
        residentMemory, startTime,
    ]
}
