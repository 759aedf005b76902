import Foundation

/// A progress line on stderr (rows, MB/s, and the time left when the total is known), redrawn at
/// most twice a second, and only when stderr is a terminal.
public final class TerminalProgress {
    let label: String
    let start = Date()
    var last = Date.distantPast
    let enabled = isatty(2) == 1

    public init(label: String) { self.label = label }

    public func update(rows: Int, bytes: Int, total: Int? = nil, prefix: String = "") {
        guard enabled, Date().timeIntervalSince(last) > 0.5 else { return }
        last = Date()
        let secs = max(0.001, last.timeIntervalSince(start))
        var line = "\r\(label): \(prefix)\(rows) rows, \(String(format: "%.1f", Double(bytes) / secs / 1e6)) MB/s"
        if let total, total > rows, rows > 0 { line += ", ~\(Int(secs * Double(total - rows) / Double(rows)))s left" }
        FileIO.say(line + "   ")
    }

    public func finish(rows: Int) {
        guard enabled else { return }
        FileIO.say("\r\(label): \(rows) rows in \(String(format: "%.1f", Date().timeIntervalSince(start)))s\n")
    }
}
