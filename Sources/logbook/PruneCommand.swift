import Archive
import ArgumentParser
import Foundation
import Operate

struct PruneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Delete what no point inside the retention window needs (never breaks a restore inside it).",
        discussion: """
        Keeps, per table, the newest base copy taken at or before the window's start and everything after \
        it; deletes older base copies, and segments whose every transaction committed before the oldest \
        base copy kept (from the front only, recording the hash chain's head in pruned.json). \
        --dry-run lists what would go and why.
        """)
    @Option(help: "Archive folder.") var archive: String
    @OptionGroup var encryption: EncryptionOptions
    @Option(help: ArgumentHelp("The window to keep restorable, e.g. 180d (FMCSA: at least six months).", valueName: "duration")) var keep: String
    @Flag(help: "List what would be deleted, and why, without deleting.") var dryRun = false

    func validate() throws { _ = try OptionCheck.duration("keep", keep, zero: false, example: "180d") }

    func run() throws {
        let key = try encryption.key(for: archive)
        let seconds = try OptionCheck.duration("keep", keep, zero: false)
        _ = try ArchiveDirectory(archive).requireIdentity()
        let lock = dryRun ? nil : try ArchiveLock.acquire(ArchiveDirectory(archive), for: "prune")
        defer { withExtendedLifetime(lock) {} }
        let plan = try Retention.plan(archive: archive, key: key, keep: seconds)
        for (p, why) in plan.segments + plan.baseCopies {
            print("\(dryRun ? "would delete" : "delete") \((p as NSString).lastPathComponent): \(why)")
        }
        if !dryRun { try Retention.apply(plan, archive: archive, key: key) }
        print("window starts \(plan.windowStart); \(plan.segments.count) segments and \(plan.baseCopies.count) base copies \(dryRun ? "would be" : "were") deleted")
    }
}
