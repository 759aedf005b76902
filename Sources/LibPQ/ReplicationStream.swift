import CLibPQ
import Foundation
import PGWire

/// What one read from a replication stream gives.
public enum CopyDataEvent: Sendable {
    case data([UInt8])
    /// Nothing arrived within the timeout.
    case timeout
    /// The server ended the COPY (e.g. `endpos` reached, or the walsender stopped).
    case end
}

extension PostgresConnection {
    /// Sends `START_REPLICATION …` and enters COPY BOTH mode.
    public func startReplication(_ command: String) throws {
        let res = PQexec(conn, command)
        if PQresultStatus(res) != PGRES_COPY_BOTH {
            _ = try QueryResult(consuming: res, connection: self)
            throw PostgresError(.protocolViolation, "server did not enter COPY BOTH mode for START_REPLICATION")
        }
        PQclear(res)
    }

    /// Reads one CopyData message, waiting at most `timeout` seconds on the socket.
    /// Blocking: call it from a dedicated thread, never from the cooperative pool.
    public func readCopyData(timeout: Double) throws -> CopyDataEvent {
        if let event = try tryReadCopyData() { return event }
        var pfd = pollfd(fd: PQsocket(conn), events: Int16(POLLIN), revents: 0)
        let ms = Int32(max(0, timeout * 1000))
        let r = poll(&pfd, 1, ms)
        if r < 0 {
            if errno == EINTR { return .timeout }
            throw PostgresError(.connection, "poll on the replication socket failed: \(String(cString: strerror(errno)))")
        }
        if r == 0 { return .timeout }
        if PQconsumeInput(conn) == 0 { throw PostgresError(.connection, lastError) }
        return try tryReadCopyData() ?? .timeout
    }

    private func tryReadCopyData() throws -> CopyDataEvent? {
        var buf: UnsafeMutablePointer<CChar>?
        let n = PQgetCopyData(conn, &buf, 1)
        if n > 0, let buf {
            defer { PQfreemem(buf) }
            return .data(Array(UnsafeRawBufferPointer(start: buf, count: Int(n))))
        }
        if n == 0 { return nil }
        if n == -1 {
            // COPY finished: collect the final result(s); an error here is the server's reason
            // (e.g. "terminating connection due to administrator command"): the stream is gone.
            do { try drainResults() } catch let e as PostgresError {
                throw PostgresError(.connection, e.message, sqlState: e.sqlState)
            }
            return .end
        }
        throw PostgresError(.connection, lastError)
    }

    /// Sends a CopyData message (a standby status update) and flushes it.
    public func sendCopyData(_ bytes: [UInt8]) throws {
        let r = bytes.withUnsafeBytes { p in p.baseAddress.map { PQputCopyData(conn, $0.assumingMemoryBound(to: CChar.self), Int32(p.count)) } ?? 1 }
        if r != 1 || PQflush(conn) != 0 { throw PostgresError(.connection, lastError) }
    }

    /// Ends our side of COPY BOTH and reads what the server still sends until it ends too — for at
    /// most `seconds` (a walsender in the middle of streaming a large transaction may have much
    /// more to send; the connection is then simply closed by its owner).
    public func endReplication(seconds: Double = 5) {
        _ = PQputCopyEnd(conn, nil)
        _ = PQflush(conn)
        let deadline = Date().addingTimeInterval(seconds)
        drain: while Date() < deadline {
            var buf: UnsafeMutablePointer<CChar>?
            let n = PQgetCopyData(conn, &buf, 1)
            if let buf { PQfreemem(buf) }
            switch n {
            case ..<0: break drain                       // the server ended the copy (-1) or it failed (-2)
            case 0:
                var pfd = pollfd(fd: PQsocket(conn), events: Int16(POLLIN), revents: 0)
                _ = poll(&pfd, 1, 100)
                if PQconsumeInput(conn) == 0 { break drain }
            default: continue
            }
        }
        // The copy's end and the command's result; a copy still going on gives a COPY result forever.
        for _ in 0..<8 {
            guard let res = PQgetResult(conn) else { break }
            let status = PQresultStatus(res)
            PQclear(res)
            if status == PGRES_COPY_BOTH || status == PGRES_COPY_OUT || status == PGRES_COPY_IN { break }
        }
    }
}
