import Foundation

/// The records frames of an archive view, newest first: files from the last to the first, and in
/// each file its frames from the last whole one back to the first. A frame's records are given in
/// their own order (a reader walks them backwards). Only frame headers are read to find the
/// frames; each frame is checked (CRC, key) and decompressed when it is reached, so memory is a
/// few frames whatever the archive's size.
///
/// With `readAhead`, a thread of its own reads, checks and decompresses up to that many frames
/// ahead of the caller, who then spends its time on the records alone; `close` stops it.
public final class NewestFirstFrames: @unchecked Sendable {
    /// One frame: its payload, the ranges of its records, where it is.
    public struct Frame: Sendable {
        public let raw: [UInt8]
        public let records: [Range<Int>]
        public let offset: Int
        public let path: String
    }

    let files: [ArchiveView.File]
    let key: ArchiveKey?
    let zstd = Zstd()
    var fileIndex: Int
    var reader: FrameFileReader?
    var offsets: [Int] = []
    var currentPath = ""

    let readAhead: Int
    private let cond = NSCondition()
    private var ready: [Result<Frame?, Error>] = []
    private var started = false
    private var stopped = false
    private var producerDone = true

    public convenience init(view: ArchiveView, readAhead: Int = 0) {
        self.init(files: view.files, key: view.archive.key, readAhead: readAhead)
    }

    /// `files`: those of a view a reader needs (`ArchiveView.files(concerning:oid:)`), in the view's order.
    public init(files: [ArchiveView.File], key: ArchiveKey?, readAhead: Int = 0) {
        self.files = files
        self.key = key
        fileIndex = files.count
        self.readAhead = readAhead
    }

    deinit { close() }

    /// The next frame back, nil before the first.
    public func next() throws -> Frame? {
        guard readAhead > 0 else { return try read() }
        cond.lock()
        defer { cond.unlock() }
        if !started {
            started = true
            producerDone = false
            let t = Thread { [self] in produce() }
            t.name = "logbook-frames"
            t.start()
        }
        while ready.isEmpty {
            if producerDone { return nil }
            cond.wait()
        }
        let r = ready.removeFirst()
        cond.broadcast()
        return try r.get()
    }

    /// Stops the read-ahead thread (after the frame it is reading); waits for it.
    public func close() {
        cond.lock()
        stopped = true
        cond.broadcast()
        while !producerDone { cond.wait() }
        cond.unlock()
    }

    private func produce() {
        while true {
            let r = Result { try read() }
            cond.lock()
            while ready.count >= readAhead && !stopped { cond.wait() }
            let end: Bool
            if stopped { end = true } else {
                ready.append(r)
                if case .success(.some) = r { end = false } else { end = true }
            }
            cond.broadcast()
            if end { producerDone = true; cond.broadcast(); cond.unlock(); return }
            cond.unlock()
        }
    }

    private func read() throws -> Frame? {
        while offsets.isEmpty {
            reader = nil
            guard fileIndex > 0 else { return nil }
            fileIndex -= 1
            var path = files[fileIndex].path
            // A segment being written may be sealed (renamed) between listing and opening.
            if path.hasSuffix("." + ArchiveFiles.openSegmentExtension), !FileManager.default.fileExists(atPath: path) {
                path = String(path.dropLast(ArchiveFiles.openSegmentExtension.count)) + ArchiveFiles.sealedSegmentExtension
            }
            let r = try FrameFileReader(path: path, key: key, zstd: zstd, limit: files[fileIndex].limit)
            // Headers only; a torn tail (a segment being written) ends the walk there.
            try r.walkHeaders { at, header in if header.kind == .records { offsets.append(at) } }
            reader = r
            currentPath = path
        }
        let at = offsets.removeLast()
        let frame = try reader!.frame(at: at, kind: .records, what: "records")
        do {
            return Frame(raw: frame.raw, records: try recordRanges(frame.raw), offset: at, path: currentPath)
        } catch {
            throw ArchiveError(.corrupt, "frame records are malformed: \(error)", path: currentPath, offset: at)
        }
    }
}
