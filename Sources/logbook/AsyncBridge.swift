import Foundation

/// Runs an async entry point of the library from a synchronous command and waits for it: the
/// main thread blocks, the work runs on Swift's concurrency pool.
enum AsyncBridge {
    static func wait(_ body: @escaping @Sendable () async throws -> Void) throws {
        let done = DispatchSemaphore(value: 0)
        let result = ResultBox()
        Task {
            do { try await body() } catch { result.error = error }
            done.signal()
        }
        done.wait()
        if let e = result.error { throw e }
    }

    private final class ResultBox: @unchecked Sendable { var error: (any Error)? }
}
