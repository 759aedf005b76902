import Foundation
import Synchronization

/// Runs blocking work (file reads, decompression, folding) on a thread of its own, off Swift's
/// cooperative pool; `join` waits for it and returns its result or rethrows its error.
/// The work owns what it captures until `join` returns: the caller touches none of it before.
final class WorkerThread<T>: @unchecked Sendable {
    private var work: (() throws -> T)?
    private var result: Result<T, Error>?
    private let done = DispatchSemaphore(value: 0)
    private var joined = false
    private let finished = Mutex(false)
    /// Whether the work has ended (`join` then returns at once).
    var isFinished: Bool { finished.withLock { $0 } }

    init(name: String, _ work: @escaping () throws -> T) {
        self.work = work
        let thread = Thread { [self] in
            result = Result { try self.work!() }
            self.work = nil
            finished.withLock { $0 = true }
            done.signal()
        }
        thread.name = name
        thread.stackSize = 8 << 20
        thread.start()
    }

    func join() throws -> T {
        if !joined { done.wait(); joined = true }
        return try result!.get()
    }
}
