import Archive
import Foundation
import Logging

/// Reading an archive from the bucket: its objects are brought into a local cache folder (only
/// those missing or changed since the last time), each checked against the SHA-256 recorded at
/// upload, and every command then reads that folder as it reads a local archive.
public enum RemoteArchive {
    struct CacheIndex: Codable { var etags: [String: String] = [:] }

    /// The default cache: `$XDG_CACHE_HOME/logbook/<bucket>/<prefix>` (or `~/.cache/...`).
    public static func defaultCache(for location: S3Location, environment env: [String: String] = ProcessInfo.processInfo.environment) -> String {
        let base = env["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? ((env["HOME"] ?? NSHomeDirectory()) + "/.cache")
        return base + "/logbook/\(location.bucket)" + (location.prefix.isEmpty ? "" : "/\(location.prefix)")
    }

    /// Mirrors the bucket's copy into `cache` and returns it.
    public static func materialize(_ config: S3Config, cache: String, logger: Logger) throws -> String {
        let client = S3Client(config: config)
        let prefix = config.location.prefix.isEmpty ? "" : config.location.prefix + "/"
        let objects = try runBlocking { try await client.list(prefix: prefix) }
        guard objects.contains(where: { $0.key == prefix + "archive.json" }) else {
            throw S3Error(code: "NotAnArchive", message: "\(config.location) holds no archive (no archive.json)",
                          fix: "check --archive s3://bucket/prefix: it is the --s3-url logbook run uploads to")
        }
        try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let indexPath = cache + "/.logbook-cache.json"
        var index = (FileManager.default.contents(atPath: indexPath).flatMap { try? JSONDecoder().decode(CacheIndex.self, from: $0) }) ?? CacheIndex()
        var fetched = 0
        var wanted = Set<String>()
        for o in objects {
            let relative = String(o.key.dropFirst(prefix.count))
            guard !relative.isEmpty, !relative.hasSuffix("/"), !relative.contains("..") else { continue }
            wanted.insert(relative)
            let local = cache + "/" + relative
            if index.etags[relative] == o.etag, FileManager.default.fileExists(atPath: local) { continue }
            try FileManager.default.createDirectory(atPath: FileIO.parentFolder(of: local), withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
            let key = o.key
            let got = try runBlocking { try await client.get(key: key, to: local) }
            if let recorded = got.recorded, recorded != got.actual {
                try? FileManager.default.removeItem(atPath: local)
                throw S3Error(code: "BadDigest", message: "\(key) in the bucket does not match the SHA-256 recorded when it was uploaded",
                              fix: "the object was changed in the store; restore it from a versioned copy, or re-upload it from the archiver's host")
            }
            index.etags[relative] = o.etag
            fetched += 1
        }
        // Objects gone from the bucket (lifecycle rules) leave the cache too.
        for relative in index.etags.keys where !wanted.contains(relative) {
            try? FileManager.default.removeItem(atPath: cache + "/" + relative)
            index.etags.removeValue(forKey: relative)
        }
        let enc = JSONEncoder()
        try enc.encode(index).write(to: URL(fileURLWithPath: indexPath), options: .atomic)
        for d in ["segments", "base"] {
            try? FileManager.default.createDirectory(atPath: cache + "/" + d, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        logger.info("read the archive from the bucket", metadata: ["from": "\(config.location)", "objects": "\(objects.count)",
                                                                  "downloaded": "\(fetched)", "cache": "\(cache)"])
        return cache
    }
}
