import Foundation
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
