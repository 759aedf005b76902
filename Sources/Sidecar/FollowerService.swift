import Capture
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// A part that follows the archive (Kafka publisher, uploader, backup_log recorder): its loop on a
/// thread of its own, reading only what the capture made durable, and ending by itself once the
/// capture has stopped (after one last pass). It never stops before the capture does, so what the
/// capture confirmed last is published, uploaded and recorded.
struct FollowerService: Service, CustomStringConvertible {
    /// Set by a follower when its last pass is done (the recorder waits for the uploader's).
    final class Done: Sendable {
        private let value = Mutex(false)
        private let wakeup = Wakeup()
        func set() {
            value.withLock { $0 = true }
            wakeup.signal()
        }
        var isSet: Bool { value.withLock { $0 } }
        /// Sleeps until `set()` or `seconds`.
        func wait(seconds: Double) { wakeup.wait(seconds: seconds) { isSet } }
    }

    let name: String
    let body: @Sendable () -> Void
    var description: String { name }

    func run() async throws {
        try await Blocking.run("logbook-\(name)", body)
        // Ended by itself (the capture stopped): it returns when the group reaches it in the
        // shutdown order, not before (a service may not leave a group on its own).
        try? await gracefulShutdown()
    }
}
