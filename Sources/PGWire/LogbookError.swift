/// What every error of logbook's modules offers: a stable code, one line saying what happened (its
/// `description`, with the fix when there is one), and the fix alone. The command line prints any of
/// them without knowing its type.
public protocol LogbookError: Error, CustomStringConvertible {
    /// A short stable name of the kind of failure (`corrupt`, `connection`, `slotAhead`, …).
    var errorCode: String { get }
    /// What to do about it, when logbook knows.
    var errorFix: String? { get }
}

extension WireDecodeError: LogbookError {
    public var errorCode: String { "protocol" }
    public var errorFix: String? { nil }
}

extension QualifiedName.ParseError: LogbookError {
    public var errorCode: String { "tableName" }
    public var errorFix: String? { "write schema.table; quote a part that has capitals, spaces or dots: '\"Fleet Ops\".\"Driver Notes\"'" }
}
