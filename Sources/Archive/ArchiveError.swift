import PGWire
/// An error about the archive: what is wrong, where (file and byte offset), and what to do.
public struct ArchiveError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Base: String { case corrupt, io, compression, identityMismatch, notAnArchive, outOfRange, unsupported, key, locked, invalidState }
        fileprivate let base: Base
        public static let corrupt = Code(base: .corrupt)
        public static let io = Code(base: .io)
        public static let compression = Code(base: .compression)
        public static let identityMismatch = Code(base: .identityMismatch)
        public static let notAnArchive = Code(base: .notAnArchive)
        public static let outOfRange = Code(base: .outOfRange)
        public static let unsupported = Code(base: .unsupported)
        /// Encryption key missing, unreadable or not this archive's.
        public static let key = Code(base: .key)
        public static let locked = Code(base: .locked)
        /// A call out of order (a bug in the caller, reported instead of trapping).
        public static let invalidState = Code(base: .invalidState)
        public var description: String { base.rawValue }
    }

    public var code: Code
    public var message: String
    public var path: String?
    public var offset: Int?
    /// What the operator should do about it.
    public var fix: String?

    public init(_ code: Code, _ message: String, path: String? = nil, offset: Int? = nil, fix: String? = nil) {
        self.code = code
        self.message = message
        self.path = path
        self.offset = offset
        self.fix = fix
    }

    public var description: String {
        var s = ""
        if let path { s += path + (offset.map { " at byte \($0)" } ?? "") + ": " }
        s += message
        if let fix { s += " — " + fix }
        return s
    }
}

extension ArchiveError: LogbookError {
    public var errorCode: String { code.description }
    public var errorFix: String? { fix }
}
