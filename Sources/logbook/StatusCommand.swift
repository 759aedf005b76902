import Archive
import ArgumentParser
import Foundation
import Operate

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "What the archive holds; with --source, the slot's lag. With thresholds, exit 1 when one is breached.",
        discussion: """
        For cron, a Kubernetes probe or Nagios: --max-age 5m fails when the newest archived commit is older \
        than that and the slot shows WAL still to read (a quiet database is not an alarm); --max-lag 1GB \
        fails when the slot trails the source by more than that. A missing or inactive slot fails too. \
        One line per breached threshold.
        """)
    @Option(help: "Archive folder, or s3://bucket/prefix (read through a local cache).") var archive: String
    @OptionGroup var encryption: EncryptionOptions
    @OptionGroup var s3: S3Options
    @Option(help: "Source connection string, to report the slot's lag.") var source: String?
    @Option(help: ArgumentHelp("Alert when the newest archived commit is older than this (90s, 5m, 2h, 2d).", valueName: "duration")) var maxAge: String?
    @Option(help: ArgumentHelp("Alert when the slot trails the source by more than this (e.g. 512MB, 1GB).", valueName: "size")) var maxLag: String?
    @Flag(help: "Print JSON.") var json = false
    @Flag(inversion: .prefixedNo, help: "Draw the restorable window as a timeline (default: when stdout is a terminal).") var timeline: Bool?

    func validate() throws {
        if let maxAge { _ = try OptionCheck.duration("max-age", maxAge, zero: true, example: "90s, 5m, 2h or 2d") }
        if let maxLag { _ = try OptionCheck.size("max-lag", maxLag) }
    }

    func run() throws {
        let archive = try s3.localArchive(self.archive)
        let key = try encryption.key(for: archive)
        let src = Secrets.source(source)
        let status = try ArchiveStatus.read(archive: archive, key: key, source: src.isEmpty ? nil : src)
        print(json ? try JSONOutput.string(status) : status.render(), terminator: json ? "\n" : "")
        if !json && (timeline ?? (isatty(STDOUT_FILENO) == 1)) { print(Timeline.render(status), terminator: "") }
        let age = try maxAge.map { try OptionCheck.duration("max-age", $0, zero: true) }
        let lag = try maxLag.map { try OptionCheck.size("max-lag", $0) }
        guard age != nil || lag != nil else { return }
        let breaches = status.breaches(maxAge: age, maxLag: lag)
        for b in breaches { FileIO.say("BREACH \(b)\n") }
        if !breaches.isEmpty { throw ExitCode(1) }
    }
}

/// Sizes on the command line: `512MB`, `1GB`, `100kB`, or bytes (powers of 1024).
enum ByteSize {
    static func parse(_ s: String) -> Int64? {
        let units: [(String, Int64)] = [("TB", 1 << 40), ("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10), ("B", 1)]
        let u = s.uppercased()
        for (suffix, mult) in units where u.hasSuffix(suffix) {
            guard let n = Int64(u.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)), n >= 0 else { return nil }
            let (v, overflow) = n.multipliedReportingOverflow(by: mult)
            return overflow ? nil : v
        }
        return Int64(s).flatMap { $0 >= 0 ? $0 : nil }
    }
}
