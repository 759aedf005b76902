import Foundation

/// Blocking work (libpq's `poll`, zstd, `fsync`, a long COPY) on a thread of its own, awaited
/// without holding a thread of Swift's cooperative pool.
enum Blocking {
    static func run<T: Sendable>(_ name: String, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, any Error>) in
            let t = Thread { c.resume(with: Result(catching: body)) }
            t.name = name
            t.stackSize = 8 << 20
            t.start()
        }
    }
}
