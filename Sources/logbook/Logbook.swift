import ArgumentParser
import Foundation

@main
struct Logbook: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logbook",
        abstract: "A continuous, lossless archive of PostgreSQL tables that can rebuild them as of any moment.",
        subcommands: [RunCommand.self, ReplayCommand.self, MarkCommand.self, SchemaCommand.self,
                      InspectCommand.self, StatusCommand.self, VerifyCommand.self, CompactCommand.self, PublishCommand.self, PruneCommand.self, KafkaMockCommand.self])

    static func main() {
        Secrets.scrubPasswordsFromArguments()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: Failure.present(error))
        }
    }
}
