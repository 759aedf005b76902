import Archive
import Foundation
import Logging
import PGWire

/// How a table is rebuilt: the passes over the archive, the load of the base copy through the
/// sink's lanes, and the folded rows after it.
extension Replayer {
    struct Rebuilt {
        var sink: RowSink
        var foldPasses = 1
        var definition: TableDefinition
        var rows: Int
        var changes: Int
        var transactions: Int
        /// Folded newest first (`rebuildNewestFirst`) rather than forward.
        var newestFirst = false
    }

    /// Rebuilds the table as of the plan's point into the sink `makeSink` gives for its definition
    /// there, leaving the sink to be finished.
    ///
    /// A keyed table takes passes that overlap: a quick one learns which keys change (rows are not
    /// decoded) while the full fold starts on another thread; then the base copy streams into the
    /// sink without those keys (through each of the sink's lanes at once) while the fold goes on;
    /// then the folded rows follow. So the destination loads the base while the fold runs, instead
    /// of waiting for it. A table without a key (matched by whole-row value) is folded first, as a
    /// base row's fate depends on the fold.
    /// `flatten`: a partitioned table is rebuilt as a plain one.
    /// `newestFirst`: a keyed table whose columns stayed as in the base copy is folded newest
    /// first (`rebuildNewestFirst`), its rows reaching the sink while the archive is read; the
    /// order of rows differs from a forward fold's, so it is for destinations where order does
    /// not matter (a table).
    static func rebuild(plan: ReplayPlan, archive: ArchiveDirectory, table: String, foldMemory: Int = 1 << 30, flatten: Bool = false,
                        newestFirst: Bool = false, logger: Logger, makeSink: (TableDefinition) throws -> RowSink) throws -> Rebuilt {
        let keyed = !plan.base.header.definition.foldKey.isEmpty
        let progress = LoadProgress(label: "replay \(table)")
        let began = DispatchTime.now().uptimeNanoseconds
        /// Where the time goes (with --verbose).
        func phase(_ what: String) {
            logger.debug("replay phase", metadata: ["done": "\(what)", "seconds": "\(String(format: "%.3f", Double(DispatchTime.now().uptimeNanoseconds - began) / 1e9))"])
        }
        guard keyed else {
            let scan = try ChangeScan(archive: archive, table: table, plan: plan, logger: logger)
            try scan.run(.fold)
            let fold = scan.fold!
            var def = scan.definition
            if flatten { def.partitionKey = nil; def.partitions = nil }
            let sink = try makeSink(def)
            try sink.begin(def)
            var rows = try loadBase(plan.base, key: archive.key, target: def, truncated: fold.truncated, untouched: fold.multiset.isEmpty,
                                    into: sink, progress: progress) { line in fold.consumeBaseRow(line) }.kept
            rows += try send(copyBatches(fold, target: def) { fold.forEachFinalRow($0) }, to: sink)
            progress.finish()
            return Rebuilt(sink: sink, definition: def, rows: rows, changes: fold.changes, transactions: scan.transactionsApplied)
        }
        /// Folds the changes of one share of the keys (all of them when nil) and prepares the rows
        /// that wait for nothing as COPY batches.
        func foldShare(_ share: TableFold.Share?, stop: StopFlag? = nil) throws -> FoldOutcome {
            let scan = try ChangeScan(archive: archive, table: table, plan: plan, logger: logger, showProgress: false)
            scan.share = share
            scan.budget = (share?.of ?? 1) < 4096 ? foldMemory : nil
            scan.stop = stop
            try scan.run(.fold)
            let fold = scan.fold!
            let waiting = fold.pendingFills()
            let ready = copyBatches(fold, target: scan.definition) { fold.forEachFinalRow(excludingWaiting: true, $0) }
            return FoldOutcome(fold: fold, waiting: waiting, ready: ready, transactions: scan.transactionsApplied)
        }
        if newestFirst, let built = try rebuildNewestFirst(plan: plan, archive: archive, table: table, flatten: flatten, foldMemory: foldMemory,
                                                           logger: logger, phase: phase, makeSink: makeSink) {
            progress.finish()
            return built
        }
        // The fold starts at once on its own thread; the key pass it overlaps is quick.
        let stopFirst = StopFlag()
        var folding: WorkerThread<FoldOutcome>? = WorkerThread(name: "logbook-fold") { try foldShare(nil, stop: stopFirst) }
        func stopFolding() { stopFirst.set(); _ = try? folding?.join(); folding = nil }
        let keys: TableFold
        let def: TableDefinition
        let sink: RowSink
        do {
            let keysScan = try ChangeScan(archive: archive, table: table, plan: plan, logger: logger)
            try keysScan.run(.keys)
            phase("keys pass")
            keys = keysScan.fold!
            var d = keysScan.definition
            if flatten { d.partitionKey = nil; d.partitions = nil }
            def = d
            sink = try makeSink(def)
            try sink.begin(def)
        } catch {
            stopFolding()
            throw error
        }
        // Shares the fold needs to stay within its memory, from what the keys pass saw.
        let perKey = keys.rowChanges == 0 ? 0 : keys.rowBytes / keys.rowChanges * 2 + 160
        let shares = max(1, min(4096, (keys.touched.count * perKey + foldMemory - 1) / max(1, foldMemory)))
        var queue: [TableFold.Share] = []
        if shares > 1 {
            stopFolding()
            logger.info("the folded rows would outgrow --fold-memory-mib: folding in \(shares) passes over the archive, each over a share of the keys")
            folding = WorkerThread(name: "logbook-fold") { try foldShare(TableFold.Share(index: 0, of: shares, moved: keys.moved)) }
            queue = (1..<shares).map { TableFold.Share(index: $0, of: shares, moved: keys.moved) }
        }
        let touched = keys.touched, baseFills = keys.baseFills
        let baseIdentities = plan.base.header.definition.identities(of: plan.base.header.definition.storedColumns.map(\.name))
        let keyPositions = keys.keyColumns.compactMap { baseIdentities.firstIndex(of: $0) }
        let lanes = sink.lanes
        /// One lane's share of the base copy; returns its rows and the base rows the fold may need.
        func loadLane(_ lane: Int) throws -> (kept: Int, stash: [FoldKey: [UInt8]]) {
            var stash: [FoldKey: [UInt8]] = [:]
            let r = try loadBase(plan.base, key: archive.key, lane: lane, of: lanes, target: def, truncated: keys.truncated, untouched: touched.isEmpty,
                                 into: sink, progress: progress) { line in
                let key = TableFold.key(ofLine: line, keyPositions: keyPositions)
                guard touched.contains(key) else { return false }
                if baseFills.contains(key) { stash[key] = Array(line) }
                return true
            }
            return (r.kept, stash)
        }
        let others = (1..<max(1, lanes)).map { lane in WorkerThread(name: "logbook-load-\(lane)") { try loadLane(lane) } }
        var rows = 0
        var stash: [FoldKey: [UInt8]] = [:]
        do {
            var results = [try loadLane(0)]
            for w in others { results.append(try w.join()) }
            for r in results { rows += r.kept; stash.merge(r.stash) { a, _ in a } }
            phase("base copy loaded")
        } catch {
            for w in others { _ = try? w.join() }
            stopFolding()
            throw error
        }
        let baseColumns = baseIdentities
        var folded = (keys: 0, rowChanges: 0, transactions: 0, passes: 0)
        /// Fills a share's waiting rows from the base rows kept aside and sends its rows through every lane.
        func finishShare(_ outcome: FoldOutcome) throws {
            phase("fold")
            let fold = outcome.fold
            guard fold.truncated == keys.truncated, fold.truncates == keys.truncates else {
                throw inconsistent("the passes over the archive disagree about a TRUNCATE")
            }
            folded.passes += 1
            folded.keys += fold.touchedCount
            folded.rowChanges += fold.rowChanges
            folded.transactions = outcome.transactions
            for (baseKey, waiting) in outcome.waiting {
                if let line = stash[baseKey] { fold.fillFromBaseRow(waiting: waiting, baseColumns: baseColumns, baseLine: line[...]) }
            }
            let late = copyBatches(fold, target: def) { fold.forEachRow(ofKeys: outcome.waiting.values.flatMap { $0 }, $0) }
            let batches = outcome.ready + late
            let share = { (lane: Int) in batches.indices.filter { $0 % lanes == lane }.map { batches[$0] } }
            let senders = (1..<max(1, lanes)).map { lane in WorkerThread(name: "logbook-send-\(lane)") { try send(share(lane), lane: lane, to: sink) } }
            do {
                rows += try send(share(0), lane: 0, to: sink)
                for w in senders { rows += try w.join() }
                phase("folded rows sent")
            } catch {
                for w in senders { _ = try? w.join() }
                throw error
            }
        }
        /// A share that outgrew the budget is folded again as two smaller ones.
        func split(_ s: TableFold.Share) -> [TableFold.Share] {
            [TableFold.Share(index: s.index, of: s.of * 2, moved: s.moved), TableFold.Share(index: s.index + s.of, of: s.of * 2, moved: s.moved)]
        }
        do {
            do {
                try finishShare(try folding!.join())
            } catch is FoldOverBudget {
                queue = split(TableFold.Share(index: 0, of: shares, moved: keys.moved)) + queue
                logger.info("the fold outgrew --fold-memory-mib: folding again in shares of the keys")
            }
            folding = nil
            while !queue.isEmpty {
                let s = queue.removeFirst()
                do { try finishShare(try foldShare(s)) } catch is FoldOverBudget { queue = split(s) + queue }
            }
        } catch {
            stopFolding()
            throw error
        }
        guard folded.keys == keys.touchedCount, folded.rowChanges == keys.rowChanges else {
            throw inconsistent("the passes over the archive disagree (\(keys.touchedCount) keys and \(keys.rowChanges) changes, then \(folded.keys) and \(folded.rowChanges))")
        }
        progress.finish()
        return Rebuilt(sink: sink, foldPasses: folded.passes, definition: def, rows: rows, changes: keys.changes, transactions: folded.transactions)
    }

    static func inconsistent(_ what: String) -> ReplayError {
        ReplayError(.inconsistent, what, fix: "nothing was committed; report this with the output of `logbook verify --archive`")
    }

    struct FoldOutcome {
        var fold: TableFold
        /// Base key → keys of folded rows waiting for that base row's unchanged values.
        var waiting: [FoldKey: [FoldKey]]
        var ready: [CopyBatch]
        var transactions: Int
    }

    /// Rows in COPY text (about 1 MiB of whole lines) and the columns they hold.
    struct CopyBatch {
        var columns: [String]
        var bytes: [UInt8]
        var rows: Int
    }

    /// The fold's rows (given in order of relation version), projected onto the target's columns,
    /// as COPY batches of about 1 MiB.
    static func copyBatches(_ fold: TableFold, target def: TableDefinition,
                            _ rows: ((Int, ArraySlice<UInt8>) -> Void) -> Void) -> [CopyBatch] {
        var batches: [CopyBatch] = []
        var version = -1
        var projection = Projection(source: [], target: def)
        var out: [UInt8] = []
        var n = 0
        func close() {
            if n > 0 { batches.append(CopyBatch(columns: projection.columns, bytes: out, rows: n)) }
            out = []; out.reserveCapacity(1 << 20 + 4096); n = 0
        }
        out.reserveCapacity(1 << 20 + 4096)
        rows { v, line in
            if v != version {
                close()
                version = v
                projection = Projection(source: fold.versions[v], target: def)
            }
            if projection.isIdentity { out += line } else { projection.append(line, to: &out) }
            out.append(CopyText.newline)
            n += 1
            if out.count >= 1 << 20 { close() }
        }
        close()
        return batches
    }

    /// Writes the batches through one lane; returns the rows written.
    static func send(_ batches: [CopyBatch], lane: Int = 0, to sink: RowSink) throws -> Int {
        var rows = 0
        for b in batches { try sink.write(lane: lane, columns: b.columns, b.bytes); rows += b.rows }
        return rows
    }

    /// Streams the base copy into the sink, leaving out the rows `drop` says the fold replaces
    /// (it is given each line). Allocates nothing per untouched row.
    /// With several lanes, each call loads its share of the base copy's frames through its lane.
    static func loadBase(_ base: (path: String, header: BaseHeader), key: ArchiveKey?, lane: Int = 0, of lanes: Int = 1, target: TableDefinition,
                         truncated: Bool, untouched: Bool, into sink: RowSink, progress: LoadProgress,
                         drop: (ArraySlice<UInt8>) throws -> Bool) throws -> (read: Int, kept: Int) {
        if truncated { return (0, 0) }
        let reader = try BaseCopyReader(path: base.path, key: key)
        let baseDef = base.header.definition
        let projection = Projection(source: baseDef.identities(of: baseDef.storedColumns.map(\.name)), target: target)
        let outCols = projection.columns
        let project = !projection.isIdentity
        var read = 0, kept = 0
        var out: [UInt8] = []
        out.reserveCapacity(1 << 21)
        while let chunk = try reader.nextChunk(lane: lane, of: lanes) {
            if untouched && !project {
                let n = chunk.reduce(0) { $0 + ($1 == CopyText.newline ? 1 : 0) }
                read += n; kept += n
                try sink.write(lane: lane, columns: outCols, chunk)
                progress.add(rows: n, bytes: chunk.count)
                continue
            }
            let readBefore = read
            var start = 0
            // Runs of kept lines are copied in one piece.
            var runStart = 0
            func flushRun(_ upTo: Int) {
                if !project && upTo > runStart { out.append(contentsOf: chunk[runStart..<upTo]) }
            }
            let n = chunk.count
            while start < n {
                // Lines are found with memchr: the base copy is most of the bytes a replay reads.
                let nl = chunk.withUnsafeBufferPointer { p -> Int in
                    guard let base = p.baseAddress, let hit = memchr(base + start, Int32(CopyText.newline), n - start) else { return n }
                    return base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                }
                guard nl < n else { break } // frames hold whole lines; a partial tail is not a row
                let line = chunk[start..<nl]
                let next = nl + 1
                read += 1
                if try drop(line) {
                    flushRun(start)
                    runStart = next
                } else {
                    kept += 1
                    if project {
                        projection.append(line, to: &out)
                        out.append(CopyText.newline)
                    }
                }
                start = next
            }
            flushRun(start)
            runStart = 0
            if out.count >= 1 << 20 { try sink.write(lane: lane, columns: outCols, out); out.removeAll(keepingCapacity: true) }
            progress.add(rows: read - readBefore, bytes: chunk.count)
        }
        if !out.isEmpty { try sink.write(lane: lane, columns: outCols, out) }
        return (read, kept)
    }
}

/// How rows whose columns are `source` (the fold's column identities) become rows of the target's
/// stored columns: matched by identity, so a renamed column keeps its values; a column the rows
/// predate holds PostgreSQL's missing value (what `ADD COLUMN … DEFAULT` gave the rows then), or
/// NULL; a generated column is left to the server.
struct Projection {
    /// The target's stored column names, in its order.
    let columns: [String]
    /// For each target column, its field in the source row (nil: filled).
    let sources: [Int?]
    let fillers: [[UInt8]]
    let isIdentity: Bool

    init(source: [String], target def: TableDefinition) {
        let stored = def.storedColumns
        columns = stored.map(\.name)
        var index: [String: Int] = [:]
        for (i, s) in source.enumerated() where index[s] == nil { index[s] = i }
        sources = stored.map { index[$0.identityKey] }
        fillers = stored.map { c in
            if let m = c.missingValue { return CopyText.escape(Array(m.utf8)) }
            // Archives from before missing values were recorded: a constant default is that value.
            if c.attnum == nil, let literal = SchemaSQL.constantDefault(c.defaultExpression) { return CopyText.escape(Array(literal.utf8)) }
            return CopyText.nullMarker
        }
        isIdentity = sources.count == source.count && sources.enumerated().allSatisfy { $0.element == $0.offset }
    }

    /// Appends the projected fields of one COPY line (no newline).
    func append(_ line: ArraySlice<UInt8>, to out: inout [UInt8]) {
        for (m, s) in sources.enumerated() {
            if m > 0 { out.append(CopyText.tab) }
            if let s { out += TableFold.field(line, s) } else { out += fillers[m] }
        }
    }
}
