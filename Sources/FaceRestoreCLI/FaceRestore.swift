import ArgumentParser
import Service

@main
struct FaceRestore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "facerestore",
        abstract: "Face restoration with CodeFormer, natively on the CPU.",
        discussion: """
            Model files are the official releases, used as they are. CodeFormer's weights are under the \
            NTU S-Lab License 1.0 (non-commercial use only).
            """,
        version: ServiceInfo.version,
        subcommands: [RestoreCommand.self, UpscaleCommand.self, BenchCommand.self, ServeCommand.self, WorkerCommand.self, ModelsCommand.self]
    )
}
