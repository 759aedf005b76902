import Archive
import Foundation
import Logging

extension Replayer {
    /// The table's shape moved within the view: the newest-first fold does not apply.
    struct ShapeMoved: Error {}

    /// Rebuilds a keyed table newest first (`NewestFirstFold`): while the archive is read
    /// backwards, each key's final row streams to the destination through every lane at once;
    /// then the base copy follows without the keys met, then the few rows that waited for a base
    /// row's unchanged values. A shape scan runs alongside on another thread: it finds the
    /// definition as of the point (the destination is started with it) and tells whether the
    /// table kept the base's columns throughout. When it did not, nothing has reached the
    /// destination and nil is returned: the forward fold, which follows every shape, takes over.
    /// Also nil when the fold outgrows `foldMemory` (the forward fold then works in shares of the
    /// keys); a destination already started is then given up (`abort`) for a new one.
    static func rebuildNewestFirst(plan: ReplayPlan, archive: ArchiveDirectory, table: String, flatten: Bool, foldMemory: Int, logger: Logger,
                                   phase: @escaping (String) -> Void, makeSink: (TableDefinition) throws -> RowSink) throws -> Rebuilt? {
        let base = plan.base.header.definition
        let baseIdentities = base.identities(of: base.storedColumns.map(\.name))
        let shapes = WorkerThread(name: "logbook-shape") { () -> (constant: Bool, definition: TableDefinition) in
            let scan = try ChangeScan(archive: archive, table: table, plan: plan, logger: logger, showProgress: false)
            try scan.run(.shape)
            return (scan.shapeIsConstant, scan.definition)
        }
        let pipe = BatchPipe()
        let lines = LineBatcher(sourceColumns: baseIdentities, pipe: pipe)
        let fold = try NewestFirstFold(plan: plan, lines: lines)
        var sink: RowSink?
        var def = base
        var senders: [WorkerThread<Int>] = []
        func start() throws {
            let shape = try shapes.join()
            guard shape.constant else { throw ShapeMoved() }
            var d = shape.definition
            if flatten { d.partitionKey = nil; d.partitions = nil }
            let s = try makeSink(d)
            try s.begin(d)
            sink = s
            def = d
            senders = BatchPipe.senders(for: pipe, sink: s)
            try lines.start(target: d)
        }
        let holdLimit = max(4 << 20, min(64 << 20, foldMemory / 8))
        var rows = 0
        do {
            try fold.run(NewestFirstFrames(view: plan.view)) {
                if fold.estimatedBytes > foldMemory { throw FoldOverBudget() }
                // Rows are held (unprojected) until the shape scan gives the destination's definition;
                // past a few batches the fold waits for it rather than hold more.
                if !lines.isStarted && (shapes.isFinished || lines.heldBytes > holdLimit) { try start() }
            }
            try lines.flush()
            if !lines.isStarted { try start() }
            pipe.close()
            for s in senders { rows += try s.join() }
            senders = []
            phase("newest-first fold, \(rows) rows sent")
        } catch is ShapeMoved {
            logger.debug("the table's columns moved within the archive: folding forward")
            return nil
        } catch is FoldOverBudget {
            pipe.fail(FoldOverBudget())
            for s in senders { _ = try? s.join() }
            _ = try? shapes.join()
            sink?.abort()
            logger.debug("the newest-first fold would outgrow --fold-memory-mib: folding forward in shares of the keys")
            return nil
        } catch {
            pipe.fail(error)
            for s in senders { _ = try? s.join() }
            _ = try? shapes.join()
            throw error
        }
        guard let sink else { return nil }
        // The base copy, without the keys the fold met; base rows that supply unchanged values are kept aside.
        let progress = LoadProgress(label: "replay \(table)")
        let keyPositions = fold.keys.keyColumns.compactMap { baseIdentities.firstIndex(of: $0) }
        let seen = fold.seen
        let wanted = Set(fold.waiting.keys)
        let lanes = max(1, sink.lanes)
        func loadLane(_ lane: Int) throws -> (kept: Int, stash: [FoldKey: [UInt8]]) {
            var stash: [FoldKey: [UInt8]] = [:]
            let r = try loadBase(plan.base, key: archive.key, lane: lane, of: lanes, target: def, truncated: fold.truncated, untouched: seen.isEmpty,
                                 into: sink, progress: progress) { line in
                let key = TableFold.key(ofLine: line, keyPositions: keyPositions)
                guard seen.contains(key) else { return false }
                if !wanted.isEmpty, wanted.contains(key) { stash[key] = Array(line) }
                return true
            }
            return (r.kept, stash)
        }
        let others = (1..<lanes).map { lane in WorkerThread(name: "logbook-load-\(lane)") { try loadLane(lane) } }
        var stash: [FoldKey: [UInt8]] = [:]
        do {
            var results = [try loadLane(0)]
            for w in others { results.append(try w.join()) }
            for r in results { rows += r.kept; stash.merge(r.stash) { a, _ in a } }
        } catch {
            for w in others { _ = try? w.join() }
            throw error
        }
        phase("base copy loaded")
        if !fold.waiting.isEmpty {
            let late = BatchPipe()
            lines.redirect(to: late)
            let lateSenders = BatchPipe.senders(for: late, sink: sink)
            do {
                try fold.emitWaiting { stash[$0]?[...] }
                try lines.flush()
                late.close()
                for s in lateSenders { rows += try s.join() }
            } catch {
                late.fail(error)
                for s in lateSenders { _ = try? s.join() }
                throw error
            }
        }
        progress.finish()
        return Rebuilt(sink: sink, foldPasses: 1, definition: def, rows: rows, changes: fold.changes, transactions: fold.transactions, newestFirst: true)
    }
}
