import Archive
import Foundation
import LibPQ
import Logging
import PGWire

/// `logbook replay --tables A,B,C` or `--all`: every table of the set rebuilt at one point, as the
/// procedures restore an application. One view of the archive resolves the point for all of
/// them; every table is planned and the target checked before anything is made; each table is
/// loaded (its lanes shared by the set, one table after another) and given its key and indexes
/// under its build name; then one transaction swaps them all into place with their foreign keys,
/// owner, privileges, policies and triggers.
extension Replayer {
    /// The archived tables `request` names: the list, or every table the archive has a base copy of.
    func setTables() throws -> [String] {
        if request.all {
            let names = Set(try BaseCopyReader.headers(in: archive).map(\.header.table))
            guard !names.isEmpty else {
                throw ReplayError(.unknownTable, "the archive has no base copy of any table", fix: "run logbook run --tables … first")
            }
            return names.sorted()
        }
        var seen = Set<String>(), out: [String] = []
        for t in request.tables ?? [] {
            let n = try Self.parseName(t)
            let q = QualifiedName(schema: n.schema, name: n.name).description
            guard seen.insert(q).inserted else {
                throw ReplayError(.invalidOption, "\(q) is listed twice in --tables", fix: "list each table once")
            }
            out.append(q)
        }
        return out
    }

    func runSet() throws -> ReplayResult {
        _ = try archive.requireIdentity()
        guard case .database(let conninfo, let into, let replace) = request.destination else {
            throw ReplayError(.invalidOption, "a set of tables is restored into a database (--target)",
                              fix: "replay each table to a file with --table and the same --at-lsn (the point this command would print)")
        }
        guard into == nil else {
            throw ReplayError(.invalidOption, "--into names one table's new name; a set keeps its tables' names", fix: "drop --into, or replay that table alone with --table")
        }
        let started = DispatchTime.now().uptimeNanoseconds
        let view = try ArchiveView.take(archive, allowGaps: request.allowGap)
        let chainCheck = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        let names = try setTables()
        // Every table planned at the one point before anything is made: a point one of them cannot serve refuses the set.
        let plans = try names.map { ($0, try ReplayPlanner(archive: archive, table: $0, view: view).plan(request.point)) }
        func connect() throws -> PostgresConnection {
            do { return try PostgresConnection(conninfo: conninfo, applicationName: "logbook-replay") } catch let e as PostgresError {
                throw ReplayError(.target, "cannot connect to the target: \(e.message)", fix: "check --target")
            }
        }
        let conn = try connect()
        try request.interrupt?.opened(conn)
        let id = try archive.requireIdentity()
        let sys = try conn.query("SELECT system_identifier::text FROM pg_control_system()").scalar ?? ""
        if sys == id.systemIdentifier && conn.databaseName == id.database {
            throw ReplayError(.targetExists, "the target is the source database of this archive",
                              fix: "restore a set into a staging database or a new server; one live table is restored in place with --table … --replace")
        }
        for (name, _) in plans where !replace && !request.dataOnly {
            if try conn.query("SELECT to_regclass($1) IS NOT NULL", [name]).scalar == "t" {
                throw ReplayError(.targetExists, "table \(name) already exists in the target database; nothing was changed",
                                  fix: "pass --replace to swap the set in one transaction, or restore into an empty database")
            }
        }
        if !request.dataOnly { try TargetCheck.require(plans.map { $0.1.base.header.definition }, omit: request.omit, on: conn) }

        // Two tables at a time (each through its own two connections), the largest base copies first.
        let loads = SetLoads(count: plans.count)
        // A table's work, roughly: its base copy's bytes and ~100 bytes per key its segments' key
        // indexes count (a segment without one: its bytes).
        func bytes(_ path: String) -> Int { ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0 }
        func size(_ i: Int) -> Int {
            let (name, plan) = plans[i]
            return bytes(plan.base.path) + view.files(concerning: name, oid: plan.base.header.definition.relationOID).reduce(0) { sum, f in
                guard f.limit == nil, let footer = try? SegmentScanner.footer(of: f.path, key: archive.key), let at = footer.keyIndexFrames,
                      let index = try? KeyIndex.read(segment: f.path, at: at, key: archive.key) else { return sum + bytes(f.path) }
                return sum + (index.tables[name]?.keys ?? 0) * 100
            }
        }
        let order = plans.indices.sorted { size($0) > size($1) }
        let next = SetLoads.Cursor(order)
        func work() throws {
            while let i = next.take(), !loads.failed {
                let (name, plan) = plans[i]
                let target = try Self.parseName(name)
                var current: DatabaseSink?
                do {
                    let built = try Self.rebuild(plan: plan, archive: archive, table: name, foldMemory: request.foldMemory, flatten: request.flatten,
                                                 newestFirst: true, logger: logger) { _ in
                        current?.abort()
                        let s = DatabaseSink(conn: try connect(), target: target, replace: replace, logger: logger) { try connect() }
                        s.deferSwap = true
                        s.omit = request.omit
                        s.interrupt = request.interrupt
                        s.dataOnly = request.dataOnly
                        current = s
                        return s
                    }
                    guard let sink = built.sink as? DatabaseSink else { throw ReplayError(.inconsistent, "the set's destination is not a database") }
                    _ = try sink.finish(rows: built.rows)
                    loads.done(i, sink: sink, rows: built.rows, changes: built.changes, transactions: built.transactions)
                } catch {
                    current?.abort()
                    loads.fail()
                    throw error
                }
            }
        }
        var notes: [String] = []
        do {
            let other = WorkerThread(name: "logbook-set-load") { try work() }
            let mine = Result { try work() }
            if case .failure = mine { loads.fail() }
            let theirs = Result { try other.join() }
            try mine.get()
            try theirs.get()
            func phase(_ what: String) {
                logger.debug("replay phase", metadata: ["done": "\(what)", "seconds": "\(String(format: "%.3f", Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9))"])
            }
            phase("every table of the set loaded and keyed")
            let sinks = loads.sinks
            if !request.dataOnly { try SetForeignKeys.makeOnBuildTables(sinks, connect: connect, logger: logger) }
            phase("the set's foreign keys made")
            notes = try TableSetSwap(sinks: sinks, conn: conn, omit: request.omit, logger: logger).run()
            phase("swapped in one transaction")
        } catch {
            for s in loads.sinks { s.abort() }
            throw error
        }
        let rows = plans.indices.map { (plans[$0].0, loads.rows[$0]) }
        let changes = loads.changes, transactions = loads.transactions
        let first = plans[0].1
        let point = Self.asOf(request.point, plan: first)
        let list = rows.map { "\($0.0) \($0.1)" }.joined(separator: ", ")
        var summary = "restored \(request.dataOnly ? "the rows of " : "")\(rows.count) tables in one transaction as of \(point): \(list) rows (\(transactions) transactions, \(changes) changes folded; chain of \(view.files.count) segments checked in \(String(format: "%.3f", chainCheck)) s)"
        summary += notes.map { "\nnote: \($0)" }.joined()
        summary += view.problems.map { "\nWARNING (--allow-gap): \($0)" }.joined()
        return ReplayResult(rows: rows.reduce(0) { $0 + $1.1 }, foldPasses: 1, changesFolded: changes, transactionsApplied: transactions,
                            baseLSN: first.base.header.lsn, endLSN: first.endLSN, endTime: first.endTime, chainCheckSeconds: chainCheck,
                            summary: summary, definition: nil)
    }
}

/// The tables of a set as two loaders finish them (in the plans' order for the swap).
final class SetLoads: @unchecked Sendable {
    private let lock = NSLock()
    private var built: [DatabaseSink?]
    private(set) var rows: [Int]
    private(set) var changes = 0
    private(set) var transactions = 0
    private var stop = false
    init(count: Int) { built = Array(repeating: nil, count: count); rows = Array(repeating: 0, count: count) }

    func done(_ i: Int, sink: DatabaseSink, rows r: Int, changes c: Int, transactions t: Int) {
        lock.withLock { built[i] = sink; rows[i] = r; changes += c; transactions += t }
    }
    func fail() { lock.withLock { stop = true } }
    var failed: Bool { lock.withLock { stop } }
    var sinks: [DatabaseSink] { lock.withLock { built.compactMap { $0 } } }

    /// The next table to load, shared by the loaders.
    final class Cursor: @unchecked Sendable {
        private let lock = NSLock()
        private var order: [Int]
        init(_ order: [Int]) { self.order = order }
        func take() -> Int? { lock.withLock { order.isEmpty ? nil : order.removeFirst() } }
        func put(_ i: Int) { lock.withLock { order.append(i) } }
    }
}

/// The set's foreign keys among its own tables, made on the build tables once every table holds its
/// rows: two connections validate them at once (as `pg_restore -j 2` does), each committed on
/// tables no one else sees yet; a key the rows violate drops everything, as any failure before the
/// swap does. The swap then has only renames to do for them.
enum SetForeignKeys {
    static func makeOnBuildTables(_ sinks: [DatabaseSink], connect: () throws -> PostgresConnection, logger: Logger) throws {
        let builds = Dictionary(sinks.compactMap { s in s.def.map { ($0.qualifiedName, (s.target.schema, s.buildName)) } }, uniquingKeysWith: { a, _ in a })
        var statements: [String] = []
        for s in sinks {
            guard let def = s.def else { continue }
            let made = ObjectSQL.foreignKeys(def, as: s.target, onTable: (s.target.schema, s.buildName)) { builds[$0] }
            statements += made.add
            s.foreignKeysMade = Set(made.made)
        }
        guard !statements.isEmpty else { return }
        let queue = SetLoads.Cursor(Array(statements.indices))
        let conns = [try connect(), try connect()]
        // Two keys that lock the same two tables in opposite orders (a cycle) can deadlock: the
        // statement PostgreSQL chose to end is made again once the other connection is done.
        let later = SetLoads.Cursor([])
        func run(_ c: PostgresConnection) throws {
            try c.query("SET maintenance_work_mem = '256MB'")
            while let i = queue.take() {
                do { try c.query(statements[i]) } catch let e as PostgresError where e.sqlState == "40P01" { later.put(i) }
            }
        }
        let other = WorkerThread(name: "logbook-set-keys") { try run(conns[1]) }
        let mine = Result { try run(conns[0]) }
        let theirs = Result { try other.join() }
        do {
            try mine.get()
            try theirs.get()
            while let i = later.take() { try conns[0].query(statements[i]) }
        } catch let e as PostgresError where e.sqlState == "23503" {
            throw ReplayError(.target, "a foreign key of the set does not hold for the restored rows: \(e.message)",
                              fix: "nothing was changed; check the archive with logbook verify")
        }
    }
}
