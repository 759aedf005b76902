import CLibPQ

/// The rows of a finished statement, copied out of libpq's `PGresult` (which is freed at once).
public struct QueryResult: Sendable {
    public var columns: [String]
    public var rows: [[String?]]
    public var commandTag: String

    init(consuming res: OpaquePointer?, connection: PostgresConnection) throws {
        guard let res else { throw PostgresError(.closed, connection.lastError) }
        defer { PQclear(res) }
        let status = PQresultStatus(res)
        switch status {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY, PGRES_COPY_OUT, PGRES_COPY_IN, PGRES_COPY_BOTH:
            break
        default:
            let state = PQresultErrorField(res, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
            var msg = PQresultErrorField(res, Int32(UInt8(ascii: "M"))).map { String(cString: $0) }
                ?? PostgresConnection.oneLine(String(cString: PQresultErrorMessage(res)))
            if msg.isEmpty { msg = connection.lastError }
            // The server went away under the query (a restart, a terminated backend): the connection
            // is what failed, and its owner may reconnect.
            let lost = PQstatus(connection.conn) == CONNECTION_BAD
            throw PostgresError(lost ? .connection : .query, PostgresConnection.oneLine(msg), sqlState: state)
        }
        let nf = Int(PQnfields(res)), nt = Int(PQntuples(res))
        columns = (0..<nf).map { String(cString: PQfname(res, Int32($0))) }
        rows = []
        rows.reserveCapacity(nt)
        for t in 0..<nt {
            var row: [String?] = []
            row.reserveCapacity(nf)
            for f in 0..<nf {
                if PQgetisnull(res, Int32(t), Int32(f)) == 1 { row.append(nil) } else {
                    row.append(String(cString: PQgetvalue(res, Int32(t), Int32(f))))
                }
            }
            rows.append(row)
        }
        commandTag = String(cString: PQcmdStatus(res))
    }

    /// The first column of the first row.
    public var scalar: String? { rows.first?.first ?? nil }

    public func value(_ row: Int, _ column: String) -> String? {
        guard let i = columns.firstIndex(of: column), row < rows.count else { return nil }
        return rows[row][i]
    }
}
