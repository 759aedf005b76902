import Foundation
import PGWire
import Synchronization

/// Wakes threads that sleep until something changes (a stop, a new durable position), so that no
/// loop polls: a sleeper returns at once when `signal()` is called, else after its timeout.
public final class Wakeup: @unchecked Sendable {
    // `@unchecked`: NSCondition is thread-safe by design; `generation` is read and written only under it.
    private let condition = NSCondition()
    private var generation = 0
    public init() {}

    public func signal() {
        condition.lock()
        generation += 1
        condition.broadcast()
        condition.unlock()
    }

    /// Sleeps until the next `signal()` or `seconds`, whichever comes first; not at all if `done()`
    /// already holds.
    public func wait(seconds: Double, unless done: () -> Bool = { false }) {
        let deadline = Date().addingTimeInterval(max(0, seconds))
        condition.lock()
        defer { condition.unlock() }
        let seen = generation
        while generation == seen && !done() {
            if !condition.wait(until: deadline) { return }
        }
    }
}

/// Asks a running capture to stop: finish the frame, fsync, confirm, exit. Set by the service
/// group on SIGTERM / SIGINT (graceful shutdown), or from a test.
public final class StopSignal: Sendable {
    private let flag = Atomic<Bool>(false)
    private let wakeup = Wakeup()
    public init() {}
    public func request() {
        flag.store(true, ordering: .sequentiallyConsistent)
        wakeup.signal()
    }
    public var isRequested: Bool { flag.load(ordering: .sequentiallyConsistent) }

    /// Sleeps `seconds`, or less if a stop is requested meanwhile; returns whether it was.
    public func sleep(_ seconds: Double) -> Bool {
        wakeup.wait(seconds: seconds) { isRequested }
        return isRequested
    }
}

/// The commit LSN up to which the archive is durable, published by the capture thread after each
/// fsync for readers that follow the archive (the Kafka publisher): they never read past it.
public final class DurableMark: Sendable {
    private let value = Atomic<UInt64>(0)
    private let running = Atomic<Bool>(true)
    private let wakeup = Wakeup()
    public init() {}
    public var commitLSN: LSN { LSN(value.load(ordering: .acquiring)) }
    func set(_ lsn: LSN) {
        if value.exchange(lsn.rawValue, ordering: .acquiringAndReleasing) != lsn.rawValue { wakeup.signal() }
    }
    /// False once the capture stopped: followers finish what is durable and stop too.
    public var captureRunning: Bool { running.load(ordering: .acquiring) }
    func captureStopped() {
        running.store(false, ordering: .releasing)
        wakeup.signal()
    }

    /// Sleeps until the archive's durable position moves or the capture stops, at most `seconds`.
    public func waitForChange(seconds: Double) {
        wakeup.wait(seconds: seconds) { !captureRunning }
    }
}
