import Foundation
import Restoration
import HTTPTypes

/// A job as `GET /api/jobs/{id}` and its event stream show it (the job object of the README and
/// the OpenAPI document).
struct JobSnapshot: JSONRepresentable, Equatable, Sendable {
    let id: String
    let status: RestorationJob.Status
    let createdAt: Date
    let updatedAt: Date
    /// Only once finished.
    let expiresAt: Date?
    /// Only while queued: 1 runs next.
    let queuePosition: Int?
    /// Only while running.
    let progress: RestorationMonitor.Progress?
    /// 0...1 for the whole job.
    let fraction: Double
    let cancelRequested: Bool
    /// Only when succeeded.
    let results: [ProcessResponse.Item]?
    /// Only when failed: what the synchronous call would have answered.
    let failure: ServiceError?

    var json: JSONDocument {
        var members: [(String, JSONDocument)] = [
            ("job_id", .string(id)),
            ("status", .string(status.rawValue)),
            ("created_at", .string(Self.timestamp(createdAt))),
            ("updated_at", .string(Self.timestamp(updatedAt))),
        ]
        if let expiresAt { members.append(("expires_at", .string(Self.timestamp(expiresAt)))) }
        if let queuePosition { members.append(("queue_position", .int(queuePosition))) }
        if let progress {
            members.append(("stage", .string(progress.stage.rawValue)))
            members.append(("image", .int(progress.image)))
            members.append(("images", .int(progress.images)))
            if let face = progress.face, let faces = progress.faces {
                members.append(("face", .int(face)))
                members.append(("faces", .int(faces)))
            }
        }
        members.append(("progress", .double((fraction * 1000).rounded() / 1000)))
        if cancelRequested { members.append(("cancel_requested", .bool(true))) }
        if let results { members.append(("results", .array(results.map(\.json)))) }
        if let failure {
            members.append(("error", .object([("status_code", .int(Int(failure.status.code))), ("message", .string(failure.message))])))
        }
        return .object(members)
    }

    /// RFC 3339 in UTC with milliseconds, e.g. `2026-12-03T07:10:00.123Z`.
    static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }

    static func == (a: JobSnapshot, b: JobSnapshot) -> Bool { a.json == b.json }
}
