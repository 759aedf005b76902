import PGWire
/// A failure of `logbook replay` (or `mark`, `schema`): one line, with the fix.
public struct ReplayError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Base: String { case outOfRange, inGap, badPoint, unknownTable, unknownMark, targetExists, target, invalidOption, inconsistent, missingObjects, interrupted }
        fileprivate let base: Base
        public static let outOfRange = Code(base: .outOfRange)
        public static let inGap = Code(base: .inGap)
        public static let badPoint = Code(base: .badPoint)
        public static let unknownTable = Code(base: .unknownTable)
        public static let unknownMark = Code(base: .unknownMark)
        public static let targetExists = Code(base: .targetExists)
        public static let target = Code(base: .target)
        public static let invalidOption = Code(base: .invalidOption)
        /// Two reads of the same archive disagreed: a defect, never a user's mistake.
        public static let inconsistent = Code(base: .inconsistent)
        /// The target lacks a role, function or type the restored tables' objects name.
        public static let missingObjects = Code(base: .missingObjects)
        /// SIGINT or SIGTERM during a replay: rolled back, nothing changed.
        public static let interrupted = Code(base: .interrupted)
        public var description: String { base.rawValue }
    }
    public var code: Code
    public var message: String
    public var fix: String?
    public init(_ code: Code, _ message: String, fix: String? = nil) { self.code = code; self.message = message; self.fix = fix }
    public var description: String { fix.map { "\(message) — \($0)" } ?? message }
}

extension ReplayError: LogbookError {
    public var errorCode: String { code.description }
    public var errorFix: String? { fix }
}
