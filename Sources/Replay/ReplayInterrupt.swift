import Archive
import LibPQ
import Synchronization

/// What a replay has open in the target, so that a SIGINT or SIGTERM can roll it back from
/// another thread: the server processes of its connections (terminated, which rolls back their
/// transactions, the set's swap included unless it has committed) and its build tables (dropped
/// once those are gone). Each replay has its own; the command line wires it to the signals.
public final class ReplayInterrupt: Sendable {
    private struct State { var pids = Set<Int32>(); var builds = Set<String>(); var done = false }
    private let state = Mutex(State())
    public init() {}

    /// A rollback has begun: the replay's own failures from here on are its effect, not news.
    public var isRollingBack: Bool { state.withLock { $0.done } }

    /// A connection the rollback must end; refused once the rollback has begun (its list is taken).
    func opened(_ conn: PostgresConnection) throws {
        try state.withLock { st in
            guard !st.done else { throw Self.stopped }
            st.pids.insert(conn.backendPID)
        }
    }
    /// A build table about to be made, known before it exists; refused once the rollback has begun.
    func building(_ qualified: String) throws {
        try state.withLock { st in
            guard !st.done else { throw Self.stopped }
            st.builds.insert(qualified)
        }
    }
    static let stopped = ReplayError(.interrupted, "the replay was interrupted", fix: "nothing was changed; run it again")
    func built(_ qualified: String) { state.withLock { _ = $0.builds.remove(qualified) } }

    /// Ends the replay's sessions and drops its build tables (only those still marked as replay's
    /// own). Returns how many build tables were dropped. Safe to call once; later calls do nothing.
    @discardableResult
    public func rollBack(conninfo: String) -> Int {
        let s = state.withLock { st -> State in let copy = st; st.done = true; return copy }
        guard !s.done, let c = try? PostgresConnection(conninfo: conninfo, applicationName: "logbook-replay-cancel") else { return 0 }
        for pid in s.pids { _ = try? c.query("SELECT pg_terminate_backend($1, 10000)", [String(pid)]) }
        var dropped = 0
        for b in s.builds.sorted() {
            guard (try? c.query("SELECT obj_description(to_regclass($1), 'pg_class')", [b]).scalar) == DatabaseSink.buildNote else { continue }
            if (try? c.query("DROP TABLE IF EXISTS \(b)")) != nil { dropped += 1 }
        }
        return dropped
    }
}
