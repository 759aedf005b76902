import Foundation

/// The archive's file system calls: retry `EINTR`, turn failures into `ArchiveError` with the
/// path. `FileIO.faultInjector` lets tests make a call fail (e.g. `ENOSPC`) without a full disk.
public enum FileIO {
    public enum Call: Sendable { case write, fsync, open, rename }
    nonisolated(unsafe) public static var faultInjector: (@Sendable (Call, String) -> Int32?)? = nil

    static func fail(_ call: Call, _ path: String, _ err: Int32) -> ArchiveError {
        let fix: String? = switch err {
        case ENOSPC: "free disk space under the archive folder, then restart: nothing unconfirmed is lost"
        case EACCES, EPERM: "give the user running logbook write access to the archive folder"
        default: nil
        }
        return ArchiveError(.io, "\(call) failed: \(String(cString: strerror(err)))", path: path, fix: fix)
    }

    static func check(_ call: Call, _ path: String) throws {
        if let err = faultInjector?(call, path) { throw fail(call, path, err) }
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
        var off = 0
        while off < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + off, bytes.count - off)
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
        if ftruncate(fd, off_t(length)) != 0 { throw fail(.write, path, errno) }
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
