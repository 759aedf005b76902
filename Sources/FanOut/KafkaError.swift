import PGWire
/// A failure of the Kafka fan-out: one line, with the fix. Never contains a configured secret.
public struct KafkaError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Base: String { case configuration, client, delivery, invalidOption }
        fileprivate let base: Base
        public static let configuration = Code(base: .configuration)
        public static let client = Code(base: .client)
        public static let delivery = Code(base: .delivery)
        public static let invalidOption = Code(base: .invalidOption)
        public var description: String { base.rawValue }
    }
    public var code: Code
    public var message: String
    public var fix: String?
    public init(_ code: Code, _ message: String, fix: String? = nil) { self.code = code; self.message = message; self.fix = fix }
    public var description: String { fix.map { "\(message) — \($0)" } ?? message }
}

extension KafkaError: LogbookError {
    public var errorCode: String { code.description }
    public var errorFix: String? { fix }
}
