import ArgumentParser
import Foundation
import Operate

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "What the archive holds; with --source, the slot's lag.")
    @Option(help: "Archive folder.") var archive: String
    @Option(help: "Source connection string, to report the slot's lag.") var source: String?
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let src = Secrets.source(source)
        let status = try ArchiveStatus.read(archive: archive, source: src.isEmpty ? nil : src)
        print(json ? try JSONOutput.string(status) : status.render(), terminator: json ? "\n" : "")
    }
}
