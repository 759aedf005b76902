import Foundation

/// COPY batches on their way from the fold to the sink's lanes: one producer, one sender thread
/// per lane. Bounded, so a fold faster than the destination waits instead of piling up rows; a
/// sender's failure reaches the producer at its next push.
final class BatchPipe: @unchecked Sendable {
    private let cond = NSCondition()
    private var queue: [Replayer.CopyBatch] = []
    private var closed = false
    private var failure: Error?
    let capacity: Int

    init(capacity: Int = 4) { self.capacity = capacity }

    func push(_ b: Replayer.CopyBatch) throws {
        cond.lock()
        defer { cond.unlock() }
        while queue.count >= capacity && failure == nil { cond.wait() }
        if let failure { throw failure }
        queue.append(b)
        cond.broadcast()
    }

    /// The next batch, nil once the pipe is closed and empty, or failed.
    func pop() -> Replayer.CopyBatch? {
        cond.lock()
        defer { cond.unlock() }
        while queue.isEmpty && !closed && failure == nil { cond.wait() }
        guard failure == nil, !queue.isEmpty else { return nil }
        cond.broadcast()
        return queue.removeFirst()
    }

    func close() { cond.lock(); closed = true; cond.broadcast(); cond.unlock() }

    func fail(_ e: Error) { cond.lock(); if failure == nil { failure = e }; cond.broadcast(); cond.unlock() }

    /// Starts one sender per lane of `sink`; each returns the rows it wrote.
    static func senders(for pipe: BatchPipe, sink: RowSink) -> [WorkerThread<Int>] {
        (0..<max(1, sink.lanes)).map { lane in
            WorkerThread(name: "logbook-send-\(lane)") {
                var rows = 0
                do {
                    while let b = pipe.pop() { try sink.write(lane: lane, columns: b.columns, b.bytes); rows += b.rows }
                } catch {
                    pipe.fail(error)
                    throw error
                }
                return rows
            }
        }
    }
}
