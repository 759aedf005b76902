import Archive
import ArgumentParser
import Foundation
import OffSite

/// Where the object store is; the bucket itself is `--s3-url` (run, upload) or `--archive s3://…` (readers).
struct S3Options: ParsableArguments {
    @Option(help: "S3-compatible endpoint, e.g. http://127.0.0.1:9000 (default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, else AWS).") var s3Endpoint: String?
    @Option(help: "Region (default: AWS_REGION, AWS_DEFAULT_REGION, else us-east-1).") var s3Region: String?
    @Option(help: "Ask the store to encrypt objects at rest: AES256 or aws:kms.") var s3Sse: String?
    @Option(help: "Local folder an archive read from a bucket is cached in (default: ~/.cache/logbook/BUCKET/PREFIX).") var cacheDir: String?

    func config(url: String) throws -> S3Config {
        try S3Config.resolve(url: url, endpoint: s3Endpoint, region: s3Region, serverSideEncryption: s3Sse)
    }

    /// The folder to read: `archive` itself, or the bucket's copy brought into the cache.
    func localArchive(_ archive: String) throws -> String {
        guard S3Location.isS3(archive) else { return archive }
        let config = try config(url: archive)
        return try RemoteArchive.materialize(config, cache: cacheDir ?? RemoteArchive.defaultCache(for: config.location),
                                             logger: LoggingSetup.logger(verbose: false))
    }
}

struct UploadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upload",
        abstract: "Copy the archive's sealed files to S3-compatible storage (what logbook run --s3-url does as it goes).",
        discussion: """
        Each file is sent with its SHA-256 for the store to check, and recorded in offsite/s3.json only once \
        the store confirmed it; an interrupted upload resumes where it stopped. Credentials come from \
        AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or ~/.aws/credentials. With --local-keep, local copies \
        that no point of that window needs are removed once uploaded (replay older points from the bucket: \
        --archive s3://…).
        """)
    @Option(help: "Archive folder.") var archive: String
    @Option(help: "Bucket and prefix: s3://bucket/prefix.") var s3Url: String
    @OptionGroup var s3: S3Options
    @Option(help: ArgumentHelp("Keep local copies for this window (e.g. 7d); older ones are removed once uploaded.", valueName: "duration")) var localKeep: String?
    @Option(help: ArgumentHelp("Attempts per pass when the store is unreachable or failing.", valueName: "count")) var attempts: Int = 5

    func validate() throws {
        if let localKeep { _ = try OptionCheck.duration("local-keep", localKeep, zero: true) }
        try OptionCheck.count("attempts", attempts, 1...1000)
    }

    func run() throws {
        let keep = try localKeep.map { try OptionCheck.duration("local-keep", $0, zero: true) }
        let logger = LoggingSetup.logger(verbose: false)
        _ = try Archive.ArchiveDirectory(archive).requireIdentity()
        let lock = try ArchiveLock.acquire(Archive.ArchiveDirectory(archive), for: "upload")
        defer { withExtendedLifetime(lock) {} }
        let uploader = Uploader(archive: archive, s3: try s3.config(url: s3Url), options: Uploader.Options(localKeep: keep), logger: logger)
        let n = try uploader.uploadPending(attempts: attempts)
        print("\(n) files uploaded to \(s3Url); \(try uploader.pending().count) pending")
    }
}
