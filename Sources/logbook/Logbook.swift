import ArgumentParser
import Foundation

@main
struct Logbook: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logbook",
        abstract: "A continuous, lossless archive of PostgreSQL tables that can rebuild them as of any moment.",
        discussion: """
        Every option can also come from a TOML file (--config FILE or LOGBOOK_CONFIG; see logbook config check) \
        and from LOGBOOK_<OPTION> variables; the command line wins, then the environment, then the file.
        """,
        subcommands: [RunCommand.self, ReplayCommand.self, MarkCommand.self, SchemaCommand.self,
                      InspectCommand.self, StatusCommand.self, VerifyCommand.self, CompactCommand.self, PublishCommand.self, HistoryCommand.self, DiffCommand.self, PruneCommand.self, RecompressCommand.self, UploadCommand.self, AuditCommand.self, KeygenCommand.self, ConfigCommand.self, KafkaMockCommand.self])

    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        Secrets.scrubPasswordsFromArguments()
        do {
            var command = try parseAsRoot(try Configuration.resolve(arguments))
            try command.run()
        } catch {
            exit(withError: Failure.present(error))
        }
    }
}
