import Archive
import ArgumentParser
import Foundation
import PGWire
import Replay

/// The point options shared by replay and schema.
struct PointOptions: ParsableArguments {
    @Option(help: "ISO 8601 time with a zone: the table holds exactly the transactions that committed at or before it.") var at: String?
    @Option(help: "LSN: the table holds exactly the transactions whose commit ends at or before it.") var atLsn: String?
    @Option(help: "Mark name (logbook mark): the table holds the transactions that committed before the mark.") var atMark: String?

    func point() throws -> ReplayPoint {
        let given = [at, atLsn, atMark].compactMap { $0 }
        guard given.count <= 1 else { throw ValidationError("give at most one of --at, --at-lsn, --at-mark") }
        if let at { return .time(try ReplayPoint.parseTime(at)) }
        if let atLsn {
            guard let l = LSN(string: atLsn) else { throw ValidationError("--at-lsn takes an LSN such as 0/16B3748") }
            return .lsn(l)
        }
        if let atMark { return .mark(atMark) }
        return .latest
    }
}

struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Rebuild an archived table as it was at a moment, into a database or a file.",
        discussion: """
        With no point, the latest archived state. --at TIME: exactly the transactions whose commit time is \
        at or before TIME (ISO 8601 with a zone; a bare date-time is refused). --at-lsn LSN: exactly the \
        transactions whose commit record ends at or before LSN. --at-mark NAME: the transactions that \
        committed before the mark. A point before the first base copy, inside a recorded gap, or after the \
        last archived commit is refused with the restorable range.
        Into a database: the table (and enum types it needs) is created from the archived schema under the \
        name <table>_logbook_new, loaded with COPY through two connections, then given its key and indexes \
        and renamed into place in one transaction (a failed replay drops it). An existing table is touched \
        only with --replace, which swaps it in that transaction; the live table in the source database is \
        instead restored in place (its rows replaced by TRUNCATE + INSERT in one transaction, recorded by the \
        archiver like any other change). The fold of the changes keeps within --fold-memory-mib by taking \
        several passes over the archive when it must.
        """)

    @Option(help: "Archive folder, or s3://bucket/prefix (read through a local cache).") var archive: String
    @OptionGroup var encryption: EncryptionOptions
    @OptionGroup var s3: S3Options
    @Option(help: "schema.table to rebuild (one table; for several, --tables).") var table: [String] = []
    @Option(help: "Comma-separated schema.table list (as run --tables): the set is rebuilt at one point and swapped in one transaction.") var tables: String?
    @Flag(help: "Every table of the archive, at one point, in one transaction.") var all = false
    @OptionGroup var point: PointOptions
    @Option(help: "Target database connection string.") var target: String?
    @Option(help: "schema.table to create in the target (default: the table's own name).") var into: String?
    @Flag(help: "Replace an existing table in the target, in one transaction.") var replace = false
    @Option(help: "Write to this file instead of a database.") var output: String?
    @Option(help: "File format: csv, copy or sql.") var format = "copy"
    @Option(help: ArgumentHelp("Memory for the folded changes, in MiB; beyond it the fold takes several passes over the archive, each over a share of the keys.", valueName: "MiB"))
    var foldMemoryMib = 1024
    @Flag(help: "Go on across a broken chain of segments (a missing, foreign, replaced or reordered file): the result names what was crossed.") var allowGap = false
    @Flag(help: "Rebuild a partitioned table as one plain table (the rows of all its partitions).") var flatten = false
    @Flag(help: "As pg_restore --no-owner: the tables belong to the user replaying, not to their source owner.") var noOwner = false
    @Flag(help: "As pg_restore --no-privileges: no GRANT is restored (the tables keep only their owner's privileges).") var noPrivileges = false
    @Flag(help: "Restore no row-level security policy; a table whose source had row-level security keeps it enabled and forced, so it shows no rows to anyone but its owner.") var noPolicies = false
    @Flag(help: "Restore no trigger.") var noTriggers = false
    @Flag(help: "Only the rows, into tables the target already has (staging after its migrations): the set's rows replaced in one transaction, the target's definitions, constraints, policies, grants and triggers untouched, its triggers not fired by the load; columns matched by name.") var dataOnly = false
    @Flag(name: .shortAndLong) var verbose = false

    func validate() throws {
        try OptionCheck.count("fold-memory-mib", foldMemoryMib, 1...1_048_576, unit: "MiB")
        if table.count > 1 { throw ValidationError("--table names one table; for several at one point use --tables \(table.joined(separator: ","))") }
        let given = [!table.isEmpty, tables != nil, all].filter { $0 }.count
        if given != 1 { throw ValidationError("give exactly one of --table, --tables or --all") }
        if let tables, QualifiedName.splitList(tables).isEmpty { throw ValidationError("--tables is empty: list schema.table names, comma-separated") }
    }

    func run() throws {
        let archive = try s3.localArchive(self.archive)
        let key = try encryption.key(for: archive)
        let destination: ReplayRequest.Destination
        switch (target, output) {
        case (let t?, nil): destination = .database(conninfo: t, into: into, replace: replace)
        case (nil, let o?): destination = .file(path: o, format: format)
        default: throw ValidationError("give exactly one of --target or --output")
        }
        var request = ReplayRequest(archive: archive, table: table.first ?? "", point: try point.point(), destination: destination,
                                    foldMemory: foldMemoryMib << 20, allowGap: allowGap)
        request.flatten = flatten
        request.encryptionKey = key
        if let tables { request.tables = QualifiedName.splitList(tables) }
        request.all = all
        request.dataOnly = dataOnly
        if dataOnly && (replace || into != nil) { throw ValidationError("--data-only replaces the rows of existing tables: drop --replace and --into") }
        request.omit = ObjectSQL.Omit(owner: noOwner, privileges: noPrivileges, policies: noPolicies, triggers: noTriggers)
        let interrupt = ReplayInterrupt()
        request.interrupt = interrupt
        let replayer = try Replayer(request, logger: LoggingSetup.logger(verbose: verbose))
        let result = try ReplaySignals.rollingBack(interrupt, target: target) { try replayer.run() }
        print(result.summary)
    }
}

struct SchemaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "schema", abstract: "Print the SQL that recreates a table as it was at a moment.")
    @Option(help: "Archive folder, or s3://bucket/prefix (read through a local cache).") var archive: String
    @OptionGroup var encryption: EncryptionOptions
    @OptionGroup var s3: S3Options
    @Option(help: "schema.table.") var table: String?
    @Option(help: "Comma-separated schema.table list: each table's statements, foreign keys last.") var tables: String?

    @OptionGroup var point: PointOptions

    func validate() throws {
        if (table == nil) == (tables == nil) { throw ValidationError("give one of --table or --tables") }
    }

    func run() throws {
        let archive = try s3.localArchive(self.archive)
        let key = try encryption.key(for: archive)
        let names = table.map { [$0] } ?? QualifiedName.splitList(tables ?? "")
        var keys: [String] = []
        for name in names {
            for s in try Replayer.schemaStatements(archive: archive, key: key, table: name, point: try point.point(), logger: LoggingSetup.logger(verbose: false)) {
                // Foreign keys after every table, as pg_restore orders them.
                if names.count > 1 && s.contains(" FOREIGN KEY ") { keys.append(s) } else { print(s + ";") }
            }
        }
        for s in keys { print(s + ";") }
    }
}

struct MarkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "mark", abstract: "Write a named restore point into the stream (e.g. before a migration).")
    @Argument(help: "The mark's name.") var name: String
    @Option(help: "Source connection string.") var source: String?
    @Option(help: "When the archiver decodes on a standby: the primary, where the mark is written (a standby is read-only).") var primary: String?
    @Option(help: "Archive folder: wait until the mark is durable in it before returning.") var archive: String?
    @OptionGroup var encryption: EncryptionOptions
    @Option(help: ArgumentHelp("Seconds to wait for the archive (with --archive).", valueName: "seconds")) var wait: Double = 60

    func validate() throws { try OptionCheck.seconds("wait", wait, 0...86_400) }

    func run() throws {
        let key = try encryption.key(for: archive)
        if let primary, primary.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("--primary is empty: give the primary's connection string") }
        let lsn = try MarkWriter.write(name: name, source: primary ?? Secrets.source(source))
        guard let archive else {
            print("mark '\(name)' written at \(lsn); replay to it with --at-mark \(name)")
            return
        }
        try MarkWriter.waitUntilArchived(name: name, lsn: lsn, archive: archive, key: key, seconds: wait)
        print("mark '\(name)' written at \(lsn) and archived; replay to it with --at-mark \(name)")
    }
}
