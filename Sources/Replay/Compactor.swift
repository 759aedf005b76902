import Archive
import Foundation
import Logging
import PGWire

/// `logbook compact`: a new base copy of each table, built offline from its previous base copy and
/// the archived changes (no load on the source), valid at the end of the last archived commit, so
/// that replay never folds more than one compaction period of changes.
public enum Compactor {
    public struct Result: Sendable {
        public var table: String
        public var path: String
        public var rows: Int
        public var lsn: LSN
    }

    /// Compacts `tables` (all archived tables when empty). A table already compacted at the last
    /// commit is skipped.
    public static func compact(archive path: String, tables: [String] = [], logger: Logger) throws -> [Result] {
        let archive = ArchiveDirectory(path)
        _ = try archive.requireIdentity()
        guard let last = try SegmentScanner.lastCommit(in: archive) else { return [] }
        let headers = try BaseCopyReader.headers(in: archive)
        let names = tables.isEmpty ? Array(Set(headers.map(\.header.table))).sorted() : tables
        var results: [Result] = []
        for table in names {
            // Only sealed segments: a compaction never races the writer.
            if headers.contains(where: { $0.header.table == table && $0.header.lsn >= last.endLSN }) { continue }
            let plan = try ReplayPlanner(archive: archive, table: table).plan(.lsn(last.endLSN))
            var writer: BaseCopyWriter?
            let built = try Replayer.rebuild(plan: plan, archive: archive, table: table, includeOpen: false, logger: logger) { def in
                let header = BaseHeader(table: table, lsn: last.endLSN, snapshot: "compacted from \(plan.base.header.lsn)",
                                        reason: "compacted", createdAt: ISO8601DateFormatter().string(from: Date()),
                                        snapshotTime: last.commitTime, definition: def)
                let w = try BaseCopyWriter(archive: archive, header: header)
                writer = w
                return FileSink(format: .copy, describe: "into a base copy at \(last.endLSN)", output: { bytes in
                    try bytes.withUnsafeBytes { try w.append($0) }
                }, close: {})
            }
            let rows = built.rows
            _ = try built.sink.finish(rows: rows)
            guard let writer else { continue }
            let written = try writer.finish()
            logger.info("compacted", metadata: ["table": "\(table)", "lsn": "\(last.endLSN)", "rows": "\(rows)",
                                                "changes_folded": "\(built.changes)"])
            results.append(Result(table: table, path: written, rows: rows, lsn: last.endLSN))
        }
        return results
    }
}
