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
    public static func compact(archive path: String, key: ArchiveKey? = nil, tables: [String] = [], logger: Logger) throws -> [Result] {
        let archive = ArchiveDirectory(path, key: key)
        _ = try archive.requireIdentity()
        // Only sealed segments: a compaction never races the writer.
        let view = try ArchiveView.take(archive, includeOpen: false)
        guard let lastEnd = view.end.commitEnd, let lastTime = view.end.commitTime else { return [] }
        let headers = try BaseCopyReader.headers(in: archive)
        let names = tables.isEmpty ? Array(Set(headers.map(\.header.table))).sorted() : tables
        var results: [Result] = []
        for table in names {
            if headers.contains(where: { $0.header.table == table && $0.header.lsn >= lastEnd }) { continue }
            let plan = try ReplayPlanner(archive: archive, table: table, view: view).plan(.lsn(lastEnd))
            var writer: BaseCopyWriter?
            let built = try Replayer.rebuild(plan: plan, archive: archive, table: table, logger: logger) { def in
                let header = BaseHeader(table: table, lsn: lastEnd, snapshot: "compacted from \(plan.base.header.lsn)",
                                        reason: "compacted", createdAt: ISO8601DateFormatter().string(from: Date()),
                                        snapshotTime: lastTime, definition: def)
                let w = try BaseCopyWriter(archive: archive, header: header)
                writer = w
                return FileSink(format: .copy, describe: "into a base copy at \(lastEnd)", output: { bytes in
                    try bytes.withUnsafeBytes { try w.append($0) }
                }, close: {})
            }
            let rows = built.rows
            _ = try built.sink.finish(rows: rows)
            guard let writer else { continue }
            let written = try writer.finish()
            logger.info("compacted", metadata: ["table": "\(table)", "lsn": "\(lastEnd)", "rows": "\(rows)",
                                                "changes_folded": "\(built.changes)"])
            results.append(Result(table: table, path: written, rows: rows, lsn: lastEnd))
        }
        return results
    }
}
