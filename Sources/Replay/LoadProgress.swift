import Archive
import Foundation

/// Progress of a load shared by its lanes (each on its own thread): rows and bytes so far, drawn
/// on stderr when it is a terminal.
final class LoadProgress: @unchecked Sendable {
    private let lock = NSLock()
    private let line: TerminalProgress
    private var rows = 0
    private var bytes = 0

    init(label: String) { line = TerminalProgress(label: label) }

    func add(rows n: Int, bytes b: Int) {
        lock.withLock {
            rows += n
            bytes += b
            line.update(rows: rows, bytes: bytes)
        }
    }

    func finish() { lock.withLock { line.finish(rows: rows) } }
}
