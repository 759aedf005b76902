import ArgumentParser
import Foundation
import Operate
import PGWire

/// `--log-table`: the seed's backup_log table, kept by Logbook.
struct BackupLogOptions: ParsableArguments {
    @Option(help: "Record sealed segments, base copies, uploads and verifications in this table (e.g. public.backup_log; created with the seed's columns if missing).")
    var logTable: String?
    @Option(help: "Database holding --log-table (default: the source).") var logTarget: String?

    func validate() throws {
        if let logTable {
            do { _ = try QualifiedName(parsing: logTable) } catch let e as QualifiedName.ParseError {
                throw ValidationError("--log-table \(e.description)")
            }
        }
    }

    func conninfo(source: String?) throws -> String? {
        guard logTable != nil else {
            if logTarget != nil { throw ValidationError("--log-target needs --log-table") }
            return nil
        }
        if let logTarget { return logTarget }
        guard let source, !source.isEmpty else { throw ValidationError("--log-table needs --log-target (or --source)") }
        return source
    }
}
