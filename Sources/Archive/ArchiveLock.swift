import Foundation

/// One writer per archive: an exclusive `flock` on `<archive>/lock`, held while the writer runs and
/// released by the kernel when its process ends (`kill -9` included). `run`, `compact`, `prune` and
/// `upload` take it; readers need none and never modify the archive.
public final class ArchiveLock: @unchecked Sendable {
    let fd: Int32
    public let path: String

    private init(fd: Int32, path: String) { self.fd = fd; self.path = path }

    /// Takes the lock at once, or fails with one line naming the holder's PID.
    public static func acquire(_ archive: ArchiveDirectory, for command: String) throws -> ArchiveLock {
        try FileIO.makeDirectory(archive.root)
        let path = archive.root + "/lock"
        let fd = try FileIO.open(path, O_RDWR | O_CREAT, 0o600)
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let err = errno
            var holder = ""
            var buf = [UInt8](repeating: 0, count: 256)
            let n = pread(fd, &buf, buf.count, 0)
            if n > 0 { holder = String(decoding: buf[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) }
            close(fd)
            guard err == EWOULDBLOCK || err == EAGAIN else {
                throw ArchiveError(.io, "cannot lock the archive: \(String(cString: strerror(err)))", path: path)
            }
            throw ArchiveError(.locked, "the archive is in use by another writer (\(holder.isEmpty ? "PID unknown" : holder))", path: archive.root,
                               fix: "stop that process first, or give this one its own --archive folder; readers (replay, status, verify) need no lock")
        }
        let me = Array("pid \(getpid()) logbook \(command)\n".utf8)
        _ = ftruncate(fd, 0)
        _ = me.withUnsafeBytes { p in p.baseAddress.map { pwrite(fd, $0, p.count, 0) } }
        return ArchiveLock(fd: fd, path: path)
    }

    deinit { close(fd) }
}
