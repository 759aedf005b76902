import ArgumentParser
import Foundation
import Operate
import Replay

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check the archive's integrity; with --against, rebuild each table and compare it with the live one.",
        discussion: """
        Integrity: every frame's checksum and decompression, every record, complete sealed files, commit \
        order across segments; one line per problem. Restore test (--against, the archived database): each \
        table rebuilt from the archive at a consistent point (a temporary slot's exported snapshot, which \
        the archive must have reached) and compared with the live table by row count and SHA-256 of the \
        sorted COPY text; one PASS/FAIL line per table. Exit status 1 on any problem or FAIL.
        """)

    @Option(help: "Archive folder.") var archive: String
    @OptionGroup var encryption: EncryptionOptions
    @Option(help: "The archived database, for the restore test.") var against: String?
    @Option(name: .customLong("table"), help: "schema.table to restore-test (repeatable; default: all).") var tables: [String] = []
    @Option(help: "Seconds to wait for the archive to reach the source's position.") var wait: Double = 60

    func run() throws {
        try encryption.apply(archive: archive)
        let report = try ArchiveVerifier.verify(archive: archive)
        for p in report.problems { print("PROBLEM \(p)") }
        print("integrity: \(report.segments) segments, \(report.baseCopies) base copies, \(report.transactions) transactions, \(report.problems.count) problems")
        var failed = !report.ok
        if let against {
            let lines = try RestoreCheck.run(archive: archive, against: against, tables: tables, waitSeconds: wait,
                                             logger: LoggingSetup.logger(verbose: false))
            for l in lines { print(l.description) }
            failed = failed || lines.contains { !$0.pass }
        }
        if failed { throw ExitCode(1) }
    }
}

struct CompactCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compact",
        abstract: "Write new base copies from the previous ones and the archived changes (offline, no load on the source).")
    @Option(help: "Archive folder.") var archive: String
    @OptionGroup var encryption: EncryptionOptions
    @Option(name: .customLong("table"), help: "schema.table (repeatable; default: all).") var tables: [String] = []

    func run() throws {
        try encryption.apply(archive: archive)
        let results = try Compactor.compact(archive: archive, tables: tables, logger: LoggingSetup.logger(verbose: false))
        if results.isEmpty { print("nothing to compact: every base copy is at the last sealed commit") }
        for r in results { print("\(r.table): new base copy at \(r.lsn), \(r.rows) rows (\((r.path as NSString).lastPathComponent))") }
    }
}
