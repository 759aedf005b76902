import Foundation
import Synchronization

/// A part of `logbook run` that follows the archive on a thread of its own (Kafka publisher,
/// uploader, backup_log recorder) and stops on its own once the capture stopped.
final class Follower: Sendable {
    private let finished = Atomic<Bool>(false)
    private let done = DispatchSemaphore(value: 0)

    static func start(_ body: @escaping @Sendable () -> Void) -> Follower {
        let f = Follower()
        Thread {
            body()
            f.finished.store(true, ordering: .releasing)
            f.done.signal()
        }.start()
        return f
    }

    var isFinished: Bool { finished.load(ordering: .acquiring) }

    /// Waits for the follower's last pass, up to `seconds`.
    func wait(seconds: Double) {
        if done.wait(timeout: .now() + seconds) == .success { done.signal() }
    }
}
