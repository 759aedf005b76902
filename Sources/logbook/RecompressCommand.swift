import Archive
import ArgumentParser
import Foundation
import Operate

struct RecompressCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recompress",
        abstract: "Rewrite sealed segments at a higher zstd level (fewer bytes; the hash chain stays whole).",
        discussion: """
        Frame for frame, the same content: each segment keeps its content hash, which is checked before \
        and after, and the hash it was sealed with, which the next segment names. The new file is fsynced \
        and renamed over the old one. Takes the archive's writer lock (use `logbook run --recompress-level` \
        to do it in the background while archiving). An encrypted archive needs its key. Off-site copies \
        are sent again by the next upload.
        """)
    @Option(help: "Archive folder.") var archive: String
    @OptionGroup var encryption: EncryptionOptions
    @Option(help: ArgumentHelp("The zstd level to rewrite at (capture writes at 3).", valueName: "level")) var level: Int = Recompression.defaultLevel
    @Flag(help: "List the segments that would be rewritten, without rewriting.") var dryRun = false

    func validate() throws { try OptionCheck.count("level", level, 4...22) }

    func run() throws {
        let key = try encryption.key(for: archive)
        let dir = ArchiveDirectory(archive, key: key)
        _ = try dir.requireIdentity()
        let lock = dryRun ? nil : try ArchiveLock.acquire(dir, for: "recompress")
        defer { withExtendedLifetime(lock) {} }
        let candidates = try Recompression.candidates(dir, level: level)
        var before = 0, after = 0
        for path in candidates {
            let name = "segments/" + (path as NSString).lastPathComponent
            if dryRun { print("would recompress \(name)"); continue }
            guard let o = try Recompression.recompress(path, archive: dir, level: level) else { continue }
            before += o.bytesBefore
            after += o.bytesAfter
            print("\(name): \(o.bytesBefore) → \(o.bytesAfter) bytes at level \(level) in \(String(format: "%.1f", o.seconds)) s")
        }
        if dryRun {
            print("\(candidates.count) segments would be recompressed at level \(level)")
        } else {
            print("\(candidates.count) segments recompressed at level \(level): \(before) → \(after) bytes" +
                  (before > 0 ? String(format: " (%.2fx)", Double(after) / Double(before)) : ""))
        }
    }
}
