import Archive
import Foundation
import Logging

extension Replayer {
    /// The table's shape moved within the view: the newest-first fold does not apply.
    struct ShapeMoved: Error {}
    /// The table's columns held, but its definition at the point is another than the destination's.
    struct Redefined: Error { let definition: TableDefinition }

    /// Rebuilds a keyed table newest first (`NewestFirstFold`): while the archive is read
    /// backwards, each key's final row streams to the destination through every lane at once;
    /// then the base copy follows without the keys met, then the few rows that waited for a base
    /// row's unchanged values. The destination is started at once with the base copy's
    /// definition; the walk checks every Relation message and table definition it reads against
    /// it (and, when the oldest changes' shape was announced before the base copy, a forward
    /// shape scan tells). When only the definition differs at the point (a constraint or a
    /// default, the columns as they were), the destination is given up (`abort`) and the walk
    /// starts over with a destination of the point's definition. When the columns moved, nil is
    /// returned: the forward fold, which follows every shape, takes over. Also nil when the fold
    /// outgrows `foldMemory` (the forward fold then works in shares of the keys).
    static func rebuildNewestFirst(plan: ReplayPlan, archive: ArchiveDirectory, table: String, flatten: Bool, foldMemory: Int, logger: Logger,
                                   phase: @escaping (String) -> Void, makeSink: (TableDefinition) throws -> RowSink) throws -> Rebuilt? {
        // A definition without its relation's OID cannot be matched with the stream's.
        guard plan.base.header.definition.relationOID != 0 else { return nil }
        do {
            return try rebuildNewestFirst(plan: plan, archive: archive, table: table, definition: plan.base.header.definition, flatten: flatten,
                                          foldMemory: foldMemory, logger: logger, phase: phase, makeSink: makeSink)
        } catch let r as Redefined {
            // Once more, the destination started with the point's definition (learnt from the walk).
            logger.debug("the table's definition at the point is not the base copy's: folding newest first again with it")
            do {
                return try rebuildNewestFirst(plan: plan, archive: archive, table: table, definition: r.definition, flatten: flatten,
                                              foldMemory: foldMemory, logger: logger, phase: phase, makeSink: makeSink)
            } catch is Redefined {
                return nil
            }
        }
    }

    /// One newest-first walk, the destination started with `definition` (the point's, as far as known).
    static func rebuildNewestFirst(plan: ReplayPlan, archive: ArchiveDirectory, table: String, definition: TableDefinition, flatten: Bool,
                                   foldMemory: Int, logger: Logger, phase: @escaping (String) -> Void,
                                   makeSink: (TableDefinition) throws -> RowSink) throws -> Rebuilt? {
        let base = plan.base.header.definition
        let baseIdentities = base.identities(of: base.storedColumns.map(\.name))
        let pipe = BatchPipe()
        var def = definition
        if flatten { def.partitionKey = nil; def.partitions = nil }
        let lines = LineBatcher(sourceColumns: baseIdentities, target: def, pipe: pipe)
        var sink: RowSink?
        var senders: [WorkerThread<Int>] = []
        /// The point's definition must be the base's, its columns unmoved all along: the
        /// destination was started with it and every change is read with its columns.
        func check(_ fold: NewestFirstFold) throws {
            switch fold.shape {
            case .moved: throw ShapeMoved()
            case .redefined(let d): throw Redefined(definition: d)
            case .held: break
            case .unproven:
                let scan = try ChangeScan(archive: archive, table: table, plan: plan, logger: logger, showProgress: false)
                try scan.run(.shape)
                guard scan.shapeIsConstant else { throw ShapeMoved() }
                if scan.definition != definition { throw Redefined(definition: scan.definition) }
                phase("shape scan")
            }
        }
        var rows = 0
        let fold: NewestFirstFold
        do {
            fold = try NewestFirstFold(plan: plan, table: table, expected: definition, lines: lines)
            let s = try makeSink(def)
            sink = s
            try s.begin(def)
            senders = BatchPipe.senders(for: pipe, sink: s)
            phase("destination started")
            // Frames are read and decompressed on their own thread, a few ahead of the walk.
            // A sealed segment whose footer names neither the table nor its relation holds no record
            // of it (every change, truncate and definition of a relation is counted there): passed by.
            let frames = NewestFirstFrames(files: plan.view.files(concerning: table, oid: plan.base.header.definition.relationOID),
                                           key: plan.view.archive.key, readAhead: 4)
            defer { frames.close() }
            try fold.run(frames) {
                if fold.estimatedBytes > foldMemory { throw FoldOverBudget() }
                if fold.shapeMoved { throw ShapeMoved() }
                if let d = fold.redefinedAs { throw Redefined(definition: d) }
            }
            try check(fold)
            try lines.flush()
            pipe.close()
            for s in senders { rows += try s.join() }
            senders = []
            phase("newest-first fold, \(rows) rows sent")
        } catch let e where e is ShapeMoved || e is FoldOverBudget || e is Redefined {
            pipe.fail(e)
            for s in senders { _ = try? s.join() }
            sink?.abort()
            if e is Redefined { throw e }
            if e is ShapeMoved {
                logger.debug("the table's definition moved within the archive: folding forward")
            } else {
                logger.debug("the newest-first fold would outgrow --fold-memory-mib: folding forward in shares of the keys")
            }
            return nil
        } catch {
            pipe.fail(error)
            for s in senders { _ = try? s.join() }
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
