import Archive
import Foundation
import Logging
import OffSite
import PGWire
import Replay
import XCTest

/// moto's S3 server on loopback, checked with boto3 (an independent client).
final class MotoServer {
    let port: Int
    var process: Process?
    var endpoint: String { "http://127.0.0.1:\(port)" }
    static let env = ["AWS_ACCESS_KEY_ID": "logbook-test", "AWS_SECRET_ACCESS_KEY": "test-secret-key", "AWS_REGION": "us-east-1"]

    init() throws { port = try freePort() }

    func start() throws {
        guard process == nil else { return }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-m", "moto.server", "-H", "127.0.0.1", "-p", String(port)]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        process = p
        try waitUntil(timeout: 60, "moto_server answers") { (try? httpGet(endpoint + "/"))?.status == 200 }
    }

    func stop() {
        process?.terminate()
        process?.waitUntilExit()
        process = nil
    }

    deinit { stop() }

    /// Runs a boto3 snippet with `s3` bound to a client of this server; returns its stdout.
    @discardableResult
    func boto(_ code: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", """
            import boto3, json, sys
            s3 = boto3.client('s3', endpoint_url='\(endpoint)', region_name='us-east-1',
                              aws_access_key_id='logbook-test', aws_secret_access_key='test-secret-key')
            \(code.replacingOccurrences(of: "\n", with: "\n"))
            """]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw NSError(domain: "boto3", code: Int(p.terminationStatus), userInfo: [NSLocalizedDescriptionKey: String(decoding: e, as: UTF8.self)]) }
        return String(decoding: o, as: UTF8.self)
    }

    /// Keys under a prefix, with the SHA-256 checksum the store keeps for each (base64).
    func objects(_ bucket: String, prefix: String) throws -> [String: String] {
        let out = try boto("""
            keys = [o['Key'] for p in s3.get_paginator('list_objects_v2').paginate(Bucket='\(bucket)', Prefix='\(prefix)') for o in p.get('Contents', [])]
            print(json.dumps({k: s3.head_object(Bucket='\(bucket)', Key=k, ChecksumMode='ENABLED').get('ChecksumSHA256', '') for k in keys}))
            """)
        return try JSONDecoder().decode([String: String].self, from: Data(out.utf8))
    }
}

final class OffSiteTests: XCTestCase {
    func s3Args(_ moto: MotoServer, _ url: String) -> [String] { ["--s3-url", url, "--s3-endpoint", moto.endpoint] }

    /// Sealed files go to the bucket with their SHA-256; with the local folder gone, replay, verify and
    /// status work from the bucket; --local-keep removes only what the store holds.
    func testUploadDeleteTheLocalFolderAndReplayFromTheBucket() throws {
        let moto = try MotoServer()
        try moto.start()
        defer { moto.stop() }
        try forEachServer { box in
            let bucket = "logbook-\(box.server)"
            try moto.boto("s3.create_bucket(Bucket='\(bucket)')")
            let url = "s3://\(bucket)/eld/archive"
            try box.sql("CREATE TABLE t (id int PRIMARY KEY, v text)")
            try box.sql("INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 300) g")
            let run = ["run", "--source", box.conninfo, "--archive", box.archive, "--tables", "public.t", "--slot", box.slot,
                       "--publication", box.slot, "--flush-interval", "0.2", "--log-table", "public.backup_log"] + s3Args(moto, url)
            var r = try LogbookBinary.run(run + ["--endpos", try box.currentLSN().description], env: MotoServer.env)
            XCTAssertEqual(r.status, 0, r.err)
            try box.sql("UPDATE t SET v = 'early' WHERE id <= 100")
            r = try LogbookBinary.run(run + ["--endpos", try box.currentLSN().description], env: MotoServer.env)
            XCTAssertEqual(r.status, 0, r.err)
            let early = try box.dump("t")
            try box.sql("SELECT pg_sleep(0.01)")
            let earlyPoint = Date()
            try box.sql("SELECT pg_sleep(0.01)")
            try box.sql("DELETE FROM t WHERE id > 250; UPDATE t SET v = 'late' WHERE id % 7 = 0")
            r = try LogbookBinary.run(run + ["--endpos", try box.currentLSN().description], env: MotoServer.env)
            XCTAssertEqual(r.status, 0, r.err)
            XCTAssertTrue(r.err.contains("uploaded"), r.err)

            // The bucket holds every sealed file, each with the SHA-256 the ledger recorded.
            let dir = ArchiveDirectory(box.archive)
            let ledger = try XCTUnwrap(UploadLedger.read(dir))
            let stored = try moto.objects(bucket, prefix: "eld/archive/")
            let local = try dir.sealedSegments() + dir.baseFiles() + [dir.identityPath]
            XCTAssertEqual(stored.count, local.count, "\(stored.keys.sorted())")
            for path in local {
                let relative = String(path.dropFirst(box.archive.count + 1))
                let sha = try fileSHA256(path, length: Int(try FileManager.default.attributesOfItem(atPath: path)[.size] as! UInt64))
                XCTAssertEqual(ledger.objects[relative]?.sha256, sha, relative)
                let digest = Data(stride(from: 0, to: 64, by: 2).map { UInt8(sha.dropFirst($0).prefix(2), radix: 16)! })
                XCTAssertEqual(stored["eld/archive/" + relative], digest.base64EncodedString(), "the store checked and kept the SHA-256 of \(relative)")
            }
            // The seed's backup_log: one row per sealed file, with its SHA-256 and where the store holds it.
            let rows = try box.sql("SELECT backup_type, file_path, file_size_bytes, sha256_checksum, s3_location FROM backup_log ORDER BY file_path").rows
            XCTAssertEqual(rows.count, local.count - 1, "every segment and base copy")
            for row in rows {
                let path = try XCTUnwrap(row[1])
                let relative = String(path.dropFirst(box.archive.count + 1))
                XCTAssertEqual(row[0], relative.hasPrefix("base/") ? "base_copy" : "segment")
                XCTAssertEqual(row[3], ledger.objects[relative]?.sha256, relative)
                XCTAssertEqual(row[4], "\(url)/\(relative)", relative)
            }
            let checked = try LogbookBinary.run(["verify", "--archive", box.archive, "--log-table", "public.backup_log", "--log-target", box.conninfo])
            XCTAssertEqual(checked.status, 0, checked.out + checked.err)
            XCTAssertEqual(try box.sql("SELECT count(*) FROM backup_log WHERE tested").scalar, "0", "an integrity check is not a restore test")
            let capture = BackgroundCapture(box.options(tables: ["public.t"]), logger: box.logger)
            try box.waitUntilStreaming()
            let verified = try LogbookBinary.run(["verify", "--archive", box.archive, "--against", box.conninfo, "--log-table", "public.backup_log"])
            XCTAssertEqual(verified.status, 0, verified.out + verified.err)
            _ = try capture.stop()
            XCTAssertEqual(try box.sql("SELECT count(*) FROM backup_log WHERE NOT tested AND backup_type <> 'verification'").scalar, "0", "the restore test marks every file it covered")
            XCTAssertEqual(try box.sql("SELECT test_result FROM backup_log WHERE backup_type = 'verification' AND tested").scalar,
                           "integrity: 0 problems; restore test: PASS (all tables)")
            let status = try LogbookBinary.run(["status", "--archive", box.archive])
            XCTAssertTrue(status.out.contains("off-site: \(local.count) files confirmed in \(url)"), status.out)

            // --local-keep: after a compaction, the segments before it leave the local folder (they are in the store).
            XCTAssertEqual(try LogbookBinary.run(["compact", "--archive", box.archive]).status, 0)
            let segmentsBefore = try dir.sealedSegments().count
            let up = try LogbookBinary.run(["upload", "--archive", box.archive, "--local-keep", "0s"] + s3Args(moto, url), env: MotoServer.env)
            XCTAssertEqual(up.status, 0, up.err)
            XCTAssertLessThan(try dir.sealedSegments().count, segmentsBefore, "old local segments removed once uploaded")
            XCTAssertThrowsError(try Replay(box).run(table: "public.t", target: try box.scratchDatabase("localold"),
                                                     point: .time(PGTimestamp(date: earlyPoint)))) { e in
                XCTAssertTrue("\(e)".contains("can restore"), "\(e)")
            }

            // The local folder is lost: everything from the bucket.
            try FileManager.default.removeItem(atPath: box.archive)
            let cache = box.archive + "-cache"
            defer { try? FileManager.default.removeItem(atPath: cache) }
            let remote = ["--archive", url, "--s3-endpoint", moto.endpoint, "--cache-dir", cache]
            let latest = try box.scratchDatabase("froms3")
            r = try LogbookBinary.run(["replay", "--table", "public.t", "--target", latest] + remote, env: MotoServer.env)
            XCTAssertEqual(r.status, 0, r.err)
            assertSameRows(try box.dump("t", on: latest), try box.dump("t"), "[\(box.server)] latest, from the bucket")
            let old = try box.scratchDatabase("froms3old")
            r = try LogbookBinary.run(["replay", "--table", "public.t", "--target", old,
                                       "--at", ISO8601DateFormatter.withFractions.string(from: earlyPoint)] + remote, env: MotoServer.env)
            XCTAssertEqual(r.status, 0, r.err)
            assertSameRows(try box.dump("t", on: old), early, "[\(box.server)] an early point, only in the bucket")
            r = try LogbookBinary.run(["verify"] + remote, env: MotoServer.env)
            XCTAssertEqual(r.status, 0, r.out + r.err)
            r = try LogbookBinary.run(["status", "--json"] + remote, env: MotoServer.env)
            XCTAssertEqual(r.status, 0, r.err)
            // Wrong bucket or wrong credentials: one line that names the fix.
            r = try LogbookBinary.run(["status", "--archive", "s3://no-such-bucket/x", "--s3-endpoint", moto.endpoint], env: MotoServer.env)
            XCTAssertEqual(r.status, 1)
            XCTAssertTrue(r.err.contains("NoSuchBucket") && r.err.contains("create the bucket"), r.err)
        }
    }

    /// The store is down when the archiver starts: it retries with backoff and catches up once the
    /// store is back; an upload pass cut short resumes with what is missing.
    func testUploadsRetryWhileTheStoreIsDownAndResumeAfterAnInterruption() throws {
        try forEachServer { box in
            let moto = try MotoServer()
            defer { moto.stop() }
            try box.sql("CREATE TABLE t (id int PRIMARY KEY, v text)")
            try box.sql("INSERT INTO t SELECT g, 'v' FROM generate_series(1, 100) g")
            let bucket = "resume-\(box.server)"
            let url = "s3://\(bucket)/a"
            // Nothing listens yet.
            let down = try LogbookBinary.run(["run", "--source", box.conninfo, "--archive", box.archive, "--tables", "public.t",
                                              "--slot", box.slot, "--publication", box.slot, "--flush-interval", "0.2",
                                              "--endpos", try box.currentLSN().description] + s3Args(moto, url), env: MotoServer.env)
            XCTAssertEqual(down.status, 0, "the archive does not wait for the store: \(down.err)")
            XCTAssertTrue(down.err.contains("upload failed, retrying") && down.err.contains("cannot reach the store"), down.err)
            XCTAssertTrue(UploadLedger.read(ArchiveDirectory(box.archive))?.objects.isEmpty ?? true, "nothing recorded while the store is down")
            let once = try LogbookBinary.run(["upload", "--archive", box.archive, "--attempts", "1"] + s3Args(moto, url), env: MotoServer.env)
            XCTAssertEqual(once.status, 1)
            XCTAssertEqual(once.err.split(separator: "\n").filter { $0.contains("error:") }.count, 1, once.err)

            // A following archiver: the store comes back while it runs.
            let capture = try LogbookBinary.start(["run", "--source", box.conninfo, "--archive", box.archive, "--tables", "public.t",
                                                   "--slot", box.slot, "--publication", box.slot, "--flush-interval", "0.2",
                                                   "--segment-seconds", "0.5"] + s3Args(moto, url), env: MotoServer.env)
            defer { capture.process.terminate(); capture.process.waitUntilExit() }
            try box.waitUntilStreaming()
            for i in 1...5 { try box.sql("UPDATE t SET v = 'round \(i)' WHERE id <= \(i * 20)") }
            try moto.start()
            try moto.boto("s3.create_bucket(Bucket='\(bucket)')")
            // A commit after the segment's age limit seals it.
            try box.sql("UPDATE t SET v = 'sealing' WHERE id = 1")
            let dir = ArchiveDirectory(box.archive)
            try waitUntil(timeout: 120, "every sealed file is confirmed in the store") {
                let segments = try dir.sealedSegments().count
                let sealed = try segments + dir.baseFiles().count + 1
                return (UploadLedger.read(dir)?.objects.count ?? 0) >= sealed && segments >= 1
            }
            capture.process.terminate()
            capture.process.waitUntilExit()

            // An upload pass interrupted after one file (as a crash would), then resumed.
            try moto.boto("s3.create_bucket(Bucket='\(bucket)-2')")
            let config = try S3Config.resolve(url: "s3://\(bucket)-2/a", endpoint: moto.endpoint, region: nil, serverSideEncryption: "AES256",
                                              environment: MotoServer.env)
            struct Interrupted: Error {}
            let first = Uploader(archive: box.archive, s3: config, logger: box.logger)
            first.afterEachUpload = { _ in throw Interrupted() }
            XCTAssertThrowsError(try first.uploadPending())
            XCTAssertEqual(try moto.objects("\(bucket)-2", prefix: "a/").count, 1)
            let second = Uploader(archive: box.archive, s3: config, logger: box.logger)
            let total = try second.pending().count
            XCTAssertEqual(try second.uploadPending(), total)
            XCTAssertEqual(try second.pending().count, 0)
            XCTAssertEqual(try moto.objects("\(bucket)-2", prefix: "a/").count, total + 1)
            // Server-side encryption was asked for on every object.
            XCTAssertEqual(try moto.boto("""
                keys = [o['Key'] for o in s3.list_objects_v2(Bucket='\(bucket)-2', Prefix='a/')['Contents']]
                print(sorted(set(s3.head_object(Bucket='\(bucket)-2', Key=k).get('ServerSideEncryption', 'none') for k in keys)))
                """).trimmingCharacters(in: .whitespacesAndNewlines), "['AES256']")
        }
    }
}

extension ISO8601DateFormatter {
    static var withFractions: ISO8601DateFormatter {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f
    }
}
