import CLibPQ
import Foundation
import PGWire

/// A libpq connection. The only type that holds a `PGconn*`; it is used from one thread at a
/// time (the capture thread, or a replay job), which is why it is `@unchecked Sendable`.
public final class PostgresConnection: @unchecked Sendable {
    let conn: OpaquePointer
    public let isReplication: Bool

    /// Opens a connection. `conninfo` is anything libpq takes; PG* environment variables apply.
    /// With `replication`, opens a logical replication connection (`replication=database`).
    public init(conninfo: String, replication: Bool = false, applicationName: String = "logbook") throws {
        self.isReplication = replication
        var keys = ["dbname", "fallback_application_name"]
        var values = [conninfo, applicationName]
        if replication { keys.append("replication"); values.append("database") }
        let cKeys = keys.map { strdup($0) } + [nil]
        let cValues = values.map { strdup($0) } + [nil]
        defer { cKeys.forEach { free($0) }; cValues.forEach { free($0) } }
        let c: OpaquePointer? = cKeys.map { UnsafePointer($0) }.withUnsafeBufferPointer { kp in
            cValues.map { UnsafePointer($0) }.withUnsafeBufferPointer { vp in
                PQconnectdbParams(kp.baseAddress, vp.baseAddress, 1)
            }
        }
        guard let c else { throw PostgresError(.connection, "libpq could not allocate a connection") }
        guard PQstatus(c) == CONNECTION_OK else {
            let msg = ConnectionString.scrub(Self.oneLine(String(cString: PQerrorMessage(c))), conninfo: conninfo)
            PQfinish(c)
            throw PostgresError(.connection, msg)
        }
        self.conn = c
        // Server NOTICEs ("schema already exists, skipping") are not the user's business.
        PQsetNoticeProcessor(c, { _, _ in }, nil)
        // Values travel as text (base copies, pgoutput in the walsender, COPY into a destination):
        // every session writes and reads the forms that mean the same on any server, whatever its
        // databases and roles set — ISO dates (with the offset), `postgres` intervals, floats with
        // every digit.
        do {
            try query(Self.sessionSettings)
        } catch let e as PostgresError {
            throw PostgresError(.connection, "could not set the session's date, interval and float formats: \(e.message)")
        }
    }

    static let sessionSettings = "SET DateStyle = ISO; SET IntervalStyle = postgres; SET extra_float_digits = 3"

    deinit { PQfinish(conn) }

    static func oneLine(_ s: String) -> String {
        s.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.joined(separator: "; ")
    }

    var lastError: String { Self.oneLine(String(cString: PQerrorMessage(conn))) }

    public var serverVersionNum: Int { Int(PQserverVersion(conn)) }
    public var databaseName: String { String(cString: PQdb(conn)) }
    public var userName: String { String(cString: PQuser(conn)) }
    /// The server process serving this connection.
    public var backendPID: Int32 { PQbackendPID(conn) }
    public var host: String { PQhost(conn).map { String(cString: $0) } ?? "" }
    public var port: String { PQport(conn).map { String(cString: $0) } ?? "" }

    // MARK: simple queries

    /// Runs one statement (no parameters) and returns its rows as text (nil for NULL).
    @discardableResult
    public func query(_ sql: String) throws -> QueryResult {
        let res = PQexec(conn, sql)
        return try QueryResult(consuming: res, connection: self)
    }

    /// Runs one statement with text parameters ($1, $2, …).
    @discardableResult
    public func query(_ sql: String, _ params: [String?]) throws -> QueryResult {
        let cParams = params.map { $0.map { strdup($0) } ?? nil }
        defer { cParams.forEach { free($0) } }
        let res = cParams.map { UnsafePointer($0) }.withUnsafeBufferPointer { p in
            PQexecParams(conn, sql, Int32(params.count), nil, p.baseAddress, nil, nil, 0)
        }
        return try QueryResult(consuming: res, connection: self)
    }

    /// Quotes an identifier for SQL (`"my table"`).
    public static func quoteIdent(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
    /// Quotes a literal for SQL (`'it''s'`).
    public static func quoteLiteral(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "''") + "'" }

    // MARK: COPY

    /// Runs `COPY … TO STDOUT` and hands each chunk of rows to `body` as it arrives (flat memory).
    public func copyOut(_ sql: String, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let res = PQexec(conn, sql)
        let status = PQresultStatus(res)
        if status != PGRES_COPY_OUT {
            _ = try QueryResult(consuming: res, connection: self)
            throw PostgresError(.copy, "expected COPY OUT from: \(sql.prefix(80))")
        }
        PQclear(res)
        while true {
            var buf: UnsafeMutablePointer<CChar>?
            let n = PQgetCopyData(conn, &buf, 0)
            if n > 0, let buf {
                defer { PQfreemem(buf) }
                try body(UnsafeRawBufferPointer(start: buf, count: Int(n)))
            } else if n == -1 {
                break
            } else {
                throw PostgresError(.copy, lastError)
            }
        }
        try drainResults()
    }

    /// Starts `COPY … FROM STDIN`; feed it with `putCopyData`, end with `endCopy`.
    public func beginCopyIn(_ sql: String) throws {
        let res = PQexec(conn, sql)
        if PQresultStatus(res) != PGRES_COPY_IN {
            _ = try QueryResult(consuming: res, connection: self)
            throw PostgresError(.copy, "expected COPY IN from: \(sql.prefix(80))")
        }
        PQclear(res)
    }

    public func putCopyData(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count > 0, let base = bytes.baseAddress else { return }
        let r = PQputCopyData(conn, base.assumingMemoryBound(to: CChar.self), Int32(bytes.count))
        if r != 1 { throw PostgresError(.copy, lastError) }
    }

    public func putCopyData(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try putCopyData($0) }
    }

    public func endCopy() throws {
        if PQputCopyEnd(conn, nil) != 1 { throw PostgresError(.copy, lastError) }
        try drainResults()
    }

    func drainResults() throws {
        var firstError: PostgresError?
        while let res = PQgetResult(conn) {
            do { _ = try QueryResult(consuming: res, connection: self) } catch let e as PostgresError { firstError = firstError ?? e }
        }
        if let firstError { throw firstError }
    }
}
