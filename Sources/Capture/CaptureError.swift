import PGWire
/// A failure of `logbook run` a user can act on: one line, with the fix.
public struct CaptureError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Base: String {
            case connection, walLevel, noReplicationPrivilege, noFreeSlot, noFreeWalSender, tableMissing, noReplicaIdentity,
                 archiveMismatch, slotLost, protocolError, serverError, invalidOption, unsupportedShape, slotAhead, failoverSetup,
                 incompleteView, slotTaken, publicationNotOwned
        }
        fileprivate let base: Base
        public static let connection = Code(base: .connection)
        public static let walLevel = Code(base: .walLevel)
        public static let noReplicationPrivilege = Code(base: .noReplicationPrivilege)
        public static let noFreeSlot = Code(base: .noFreeSlot)
        public static let noFreeWalSender = Code(base: .noFreeWalSender)
        public static let tableMissing = Code(base: .tableMissing)
        public static let noReplicaIdentity = Code(base: .noReplicaIdentity)
        public static let archiveMismatch = Code(base: .archiveMismatch)
        public static let slotLost = Code(base: .slotLost)
        public static let protocolError = Code(base: .protocolError)
        public static let serverError = Code(base: .serverError)
        public static let invalidOption = Code(base: .invalidOption)
        public static let unsupportedShape = Code(base: .unsupportedShape)
        public static let slotAhead = Code(base: .slotAhead)
        /// `--failover-slot` on a server or a standby that lacks what slot synchronization needs.
        public static let failoverSetup = Code(base: .failoverSetup)
        /// The archiver's role would not see every row or column of a table (row-level security, a
        /// publication's row filter or column list, a column privilege): archiving it would lose data.
        public static let incompleteView = Code(base: .incompleteView)
        /// A new archive folder found a slot of its name on the source: another archive's, or another consumer's.
        public static let slotTaken = Code(base: .slotTaken)
        /// A publication Logbook did not create lacks what the archive needs: only its owner changes it.
        public static let publicationNotOwned = Code(base: .publicationNotOwned)
        public var description: String { base.rawValue }
    }

    public var code: Code
    public var message: String
    public var fix: String?
    public var underlying: (any Error & Sendable)?
    public var file: String
    public var line: Int

    public init(_ code: Code, _ message: String, fix: String? = nil, underlying: (any Error & Sendable)? = nil,
                file: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.fix = fix
        self.underlying = underlying
        self.file = file
        self.line = line
    }

    public var description: String { fix.map { "\(message) — \($0)" } ?? message }
}

extension CaptureError: LogbookError {
    public var errorCode: String { code.description }
    public var errorFix: String? { fix }
}
