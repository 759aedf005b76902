import Foundation
import PGWire
import Synchronization

nonisolated(unsafe) private var signalStopFlag: sig_atomic_t = 0

/// Asks a running capture to stop: finish the frame, fsync, confirm, exit. Set from a test, or
/// by SIGTERM / SIGINT once `installSignalHandlers()` was called.
public final class StopSignal: Sendable {
    private let flag = Atomic<Bool>(false)
    public init() {}
    public func request() { flag.store(true, ordering: .sequentiallyConsistent) }
    public var isRequested: Bool { flag.load(ordering: .sequentiallyConsistent) || signalStopFlag != 0 }

    public static func installSignalHandlers() {
        signal(SIGTERM) { _ in signalStopFlag = 1 }
        signal(SIGINT) { _ in signalStopFlag = 1 }
    }
}

/// The commit LSN up to which the archive is durable, published by the capture thread after each
/// fsync for readers that follow the archive (the Kafka publisher): they never read past it.
public final class DurableMark: Sendable {
    private let value = Atomic<UInt64>(0)
    private let running = Atomic<Bool>(true)
    public init() {}
    public var commitLSN: LSN { LSN(value.load(ordering: .acquiring)) }
    func set(_ lsn: LSN) { value.store(lsn.rawValue, ordering: .releasing) }
    /// False once the capture stopped: followers finish what is durable and stop too.
    public var captureRunning: Bool { running.load(ordering: .acquiring) }
    func captureStopped() { running.store(false, ordering: .releasing) }
}
