import Foundation

/// The archive's file system calls: retry `EINTR`, turn failures into `ArchiveError` with the
/// path. In a debug build (the tests'), `FileIO.faultInjector` makes a call fail (e.g. `ENOSPC`)
/// without a full disk; a release build has no such hook, and no state of its own.
public enum FileIO {
    public enum Call: Sendable { case write, fsync, open, rename, read, truncate, unlink, seek }
    #if LOGBOOK_FAULT_INJECTION
    private static let injectorLock = NSLock()
    nonisolated(unsafe) private static var injector: (@Sendable (Call, String) -> Int32?)?
    /// Tests set it to make calls fail with an errno (read and written under a lock).
    public static var faultInjector: (@Sendable (Call, String) -> Int32?)? {
        get { injectorLock.withLock { injector } }
        set { injectorLock.withLock { injector = newValue } }
    }
    #endif

    static func fail(_ call: Call, _ path: String, _ err: Int32) -> ArchiveError {
        let fix: String? = switch err {
        case ENOSPC: "free disk space under the archive folder, then restart: nothing unconfirmed is lost"
        case EACCES, EPERM: "give the user running logbook write access to the archive folder"
        default: nil
        }
        return ArchiveError(.io, "\(call) failed: \(String(cString: strerror(err)))", path: path, fix: fix)
    }

    @inline(__always)
    static func check(_ call: Call, _ path: String) throws {
        #if LOGBOOK_FAULT_INJECTION
        if let err = faultInjector?(call, path) { throw fail(call, path, err) }
        #endif
    }

    public static func open(_ path: String, _ flags: Int32, _ mode: mode_t = 0o600) throws -> Int32 {
        try check(.open, path)
        while true {
            let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
            if fd >= 0 { return fd }
            if errno != EINTR { throw fail(.open, path, errno) }
        }
    }

    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        try check(.write, path)
        guard let base = bytes.baseAddress else { return }
        var off = 0
        while off < bytes.count {
            let n = Glibc.write(fd, base + off, bytes.count - off)
            if n < 0 { if errno == EINTR { continue }; throw fail(.write, path, errno) }
            off += n
        }
    }

    public static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws {
        try bytes.withUnsafeBytes { try writeAll(fd, $0, path: path) }
    }

    public static func fsync(_ fd: Int32, path: String) throws {
        try check(.fsync, path)
        while Glibc.fsync(fd) != 0 {
            if errno != EINTR { throw fail(.fsync, path, errno) }
        }
    }

    /// fsyncs a directory so that a created or renamed entry in it survives a crash.
    public static func fsyncDirectory(_ path: String) throws {
        let fd = try open(path, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        try fsync(fd, path: path)
    }

    public static func rename(_ from: String, _ to: String) throws {
        try check(.rename, to)
        if Glibc.rename(from, to) != 0 { throw fail(.rename, to, errno) }
    }

    public static func truncate(_ fd: Int32, _ length: Int, path: String) throws {
        try check(.truncate, path)
        while ftruncate(fd, off_t(length)) != 0 {
            if errno != EINTR { throw fail(.truncate, path, errno) }
        }
    }

    /// The folder holding `path` (`.` for a bare name). Written out rather than through
    /// `NSString.deletingLastPathComponent`, which traps on some one-character paths on Linux.
    public static func parentFolder(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// Writes text to standard error (or, with `fd: 1`, standard output), ignoring failures: a closed
    /// pipe or a full disk behind a redirect never stops the program (`FileHandle.write` would trap).
    public static func say(_ text: String, fd: Int32 = 2) {
        try? writeAll(fd, Array(text.utf8), path: fd == 1 ? "standard output" : "standard error")
    }

    /// Moves the file offset to `offset`.
    public static func seek(_ fd: Int32, _ offset: Int, path: String) throws {
        if lseek(fd, off_t(offset), SEEK_SET) < 0 { throw fail(.seek, path, errno) }
    }

    /// Moves the file offset to the end; returns the file's length.
    @discardableResult
    public static func seekToEnd(_ fd: Int32, path: String) throws -> Int {
        let end = lseek(fd, 0, SEEK_END)
        if end < 0 { throw fail(.seek, path, errno) }
        return Int(end)
    }

    /// Reads up to `count` bytes at `offset` into the start of `buffer` (which must hold them),
    /// retrying `EINTR`; returns how many were read (0 at the end of the file).
    public static func pread(_ fd: Int32, into buffer: inout [UInt8], count: Int, at offset: Int, path: String) throws -> Int {
        try check(.read, path)
        let n = min(count, buffer.count)
        guard n > 0 else { return 0 }
        while true {
            let r = buffer.withUnsafeMutableBytes { p in p.baseAddress.map { Glibc.pread(fd, $0, n, off_t(offset)) } ?? 0 }
            if r >= 0 { return r }
            if errno != EINTR { throw fail(.read, path, errno) }
        }
    }

    /// Exactly `count` bytes at `offset`, or nil when the file ends before them.
    public static func preadExactly(_ fd: Int32, count: Int, at offset: Int, path: String) throws -> [UInt8]? {
        var buf = [UInt8](repeating: 0, count: count)
        var done = 0
        var chunk = [UInt8](repeating: 0, count: min(count, 1 << 20))
        while done < count {
            let r = try pread(fd, into: &chunk, count: min(chunk.count, count - done), at: offset + done, path: path)
            if r == 0 { return nil }
            buf.replaceSubrange(done..<(done + r), with: chunk[0..<r])
            done += r
        }
        return buf
    }

    /// Removes a file; one that is already gone is not an error.
    public static func unlink(_ path: String) throws {
        try check(.unlink, path)
        if Glibc.unlink(path) != 0 && errno != ENOENT { throw fail(.unlink, path, errno) }
    }

    /// Creates a folder (and its parents) readable by the owner only.
    public static func makeDirectory(_ path: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw ArchiveError(.io, "cannot create folder: \(error.localizedDescription)", path: path,
                               fix: "give the user running logbook write access there")
        }
    }

    public static func readFile(_ path: String) throws -> [UInt8] {
        guard let d = FileManager.default.contents(atPath: path) else {
            throw ArchiveError(.io, "cannot read file", path: path)
        }
        return [UInt8](d)
    }
}
