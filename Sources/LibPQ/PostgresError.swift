import PGWire
/// An error from the server or libpq, with the SQLSTATE when the server sent one.
/// The message never contains the connection string or its password.
public struct PostgresError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Base: String { case connection, query, copy, protocolViolation, closed }
        fileprivate let base: Base
        public static let connection = Code(base: .connection)
        public static let query = Code(base: .query)
        public static let copy = Code(base: .copy)
        public static let protocolViolation = Code(base: .protocolViolation)
        public static let closed = Code(base: .closed)
        public var description: String { base.rawValue }
    }

    public var code: Code
    /// The five-character SQLSTATE (`42P01`, `55000`, …), if the server sent one.
    public var sqlState: String?
    public var message: String
    public var file: String
    public var line: Int

    public init(_ code: Code, _ message: String, sqlState: String? = nil, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.sqlState = sqlState
        self.file = file
        self.line = line
    }

    public var description: String { sqlState.map { "\(message) (SQLSTATE \($0))" } ?? message }
}

extension PostgresError: LogbookError {
    public var errorCode: String { code.description }
    public var errorFix: String? { nil }
}
