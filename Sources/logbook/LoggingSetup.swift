import Archive
import Foundation
import Logging

/// One line per event on stderr: time, level, message, metadata (with the LSN where there is one).
struct LineLogHandler: LogHandler {
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info
    let label: String

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let all = metadata.merging(event.metadata ?? [:]) { $1 }
        let meta = all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let time = ISO8601DateFormatter().string(from: Date())
        let line = "\(time) \(event.level) \(label): \(event.message)\(meta.isEmpty ? "" : " " + meta)\n"
        FileIO.say(line)
    }
}

enum LoggingSetup {
    static func logger(verbose: Bool) -> Logger {
        var l = Logger(label: "logbook") { LineLogHandler(label: $0) }
        l.logLevel = verbose ? .debug : .info
        return l
    }
}
