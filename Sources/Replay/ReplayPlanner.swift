import Archive
import Foundation
import PGWire

/// A replay point resolved against the archive: the base copy to start from and the rule that
/// says which archived transactions are in.
struct ReplayPlan {
    enum Rule {
        case all
        case committedAtOrBefore(PGTimestamp)
        case endsAtOrBefore(LSN)
        case committedBefore(LSN)
    }
    var base: (path: String, header: BaseHeader)
    var rule: Rule
    /// The archive as it stood when the point was resolved: every pass reads exactly this.
    var view: ArchiveView
    /// Where the restorable window ended then (the watermark, the last commit or the newest base
    /// copy): the latest state is the state at this position.
    var endLSN = LSN.zero
    var endTime = PGTimestamp(rawValue: 0)
}

struct ReplayPlanner {
    let archive: ArchiveDirectory
    let table: String
    let view: ArchiveView

    /// `view`: the archive as one command sees it (taken now when nil).
    init(archive: ArchiveDirectory, table: String, view: ArchiveView? = nil) throws {
        self.archive = archive
        self.table = table
        self.view = try view ?? ArchiveView.take(archive)
    }

    func plan(_ point: ReplayPoint) throws -> ReplayPlan {
        let all = try BaseCopyReader.headers(in: archive)
        let bases = all.filter { $0.header.table == table }.sorted { $0.header.lsn < $1.header.lsn }
        guard let first = bases.first else {
            let suffix = BaseCopyWriter.fileSuffix(table: table)
            let pruned = Set(PrunedHead.prunedBaseCopies(archive))
            if let lost = view.anchoredBaseCopies.keys.sorted().first(where: { $0.hasSuffix(suffix) && !pruned.contains($0) }) {
                throw ReplayError(.inconsistent, "base/\(lost) is missing: the archive's hash chain records it, and no other base copy of \(table) is left",
                                  fix: "put the file back from an off-site copy and run `logbook verify --archive`")
            }
            let names = Set(all.map(\.header.table)).sorted()
            throw ReplayError(.unknownTable, "the archive has no base copy of \(table)",
                              fix: names.isEmpty ? "run logbook run with this table in --tables first" : "archived tables: \(names.joined(separator: ", "))")
        }
        let end = view.end
        // The restorable window ends at the watermark (or the last commit, or the newest base copy).
        let endTime = max(end.time ?? bases.last!.header.snapshotTime, bases.last!.header.snapshotTime)
        let endLSN = max(end.lsn ?? bases.last!.header.lsn, bases.last!.header.lsn)
        func range() -> String {
            "the archive can restore \(table) from \(first.header.snapshotTime) (LSN \(first.header.lsn)) to \(endTime) (LSN \(endLSN))"
        }
        func pastEnd(_ what: String) -> String {
            "\(what) is after the archive's watermark \(endLSN), \(endTime): the archiver has not confirmed anything later"
                + " (is `logbook run` streaming? `logbook status` shows how far it is)"
        }
        func stamp(_ p: ReplayPlan) -> ReplayPlan {
            var p = p
            p.endLSN = endLSN
            p.endTime = endTime
            return p
        }
        let gaps = view.gaps
        switch point {
        case .latest:
            return stamp(ReplayPlan(base: bases.last!, rule: .all, view: view))
        case .time(let t):
            guard t >= first.header.snapshotTime else {
                throw ReplayError(.outOfRange, "\(t) is before the archive's first base copy of \(table)", fix: range())
            }
            if t > endTime {
                throw ReplayError(.outOfRange, pastEnd("\(t)"), fix: range() + "; omit --at for the latest state")
            }
            for g in gaps {
                let resumed = bases.first { $0.header.lsn == g.toLSN }?.header.snapshotTime
                // A gap recorded without a start time starts at the first base copy (the conservative reading).
                let from = g.fromTime ?? first.header.snapshotTime
                if t > from, let resumed, t < resumed {
                    throw ReplayError(.inGap, "\(t) falls in a gap of the archive (\(g.reason)): nothing was archived from \(from) to \(resumed)",
                                      fix: "choose a time outside the gap; " + range())
                }
            }
            let base = bases.last { $0.header.snapshotTime <= t }!
            return stamp(ReplayPlan(base: base, rule: .committedAtOrBefore(t), view: view))
        case .lsn(let l):
            guard l >= first.header.lsn else {
                throw ReplayError(.outOfRange, "LSN \(l) is before the archive's first base copy of \(table)", fix: range())
            }
            if l > endLSN {
                throw ReplayError(.outOfRange, pastEnd("LSN \(l)"), fix: range())
            }
            for g in gaps where l > g.fromLSN && l < g.toLSN {
                throw ReplayError(.inGap, "LSN \(l) falls in a gap of the archive (\(g.reason)) from \(g.fromLSN) to \(g.toLSN)",
                                  fix: "choose a point outside the gap; " + range())
            }
            return stamp(ReplayPlan(base: bases.last { $0.header.lsn <= l }!, rule: .endsAtOrBefore(l), view: view))
        case .committedBefore(let l):
            guard let base = bases.last(where: { $0.header.lsn <= l }) else {
                throw ReplayError(.outOfRange, "LSN \(l) is before the archive's first base copy of \(table)", fix: range())
            }
            return stamp(ReplayPlan(base: base, rule: .committedBefore(l), view: view))
        case .mark(let name):
            guard let markLSN = try findMark(name) else {
                throw ReplayError(.unknownMark, "no mark named '\(name)' in the archive", fix: "list marks with logbook inspect, or create one with logbook mark")
            }
            guard let base = bases.last(where: { $0.header.lsn <= markLSN }) else {
                throw ReplayError(.outOfRange, "mark '\(name)' is before the archive's first base copy of \(table)", fix: range())
            }
            return stamp(ReplayPlan(base: base, rule: .committedBefore(markLSN), view: view))
        }
    }

    /// Commit LSN of the (last) transaction that carries mark `name`.
    func findMark(_ name: String) throws -> LSN? {
        let cursor = ArchiveCursor(view: view)
        var current: LSN?
        var found: LSN?
        while let ev = try cursor.next() {
            switch ev {
            case .begin(let b): current = b.finalLSN
            case .change(.message(let m), _) where m.prefix == MarkWriter.prefix && String(decoding: m.content, as: UTF8.self) == name:
                found = current
            case .message(let m) where m.prefix == MarkWriter.prefix && String(decoding: m.content, as: UTF8.self) == name:
                found = m.lsn
            default: break
            }
        }
        return found
    }
}
