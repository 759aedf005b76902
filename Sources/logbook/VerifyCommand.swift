import Archive
import ArgumentParser
import Foundation
import Operate
import Replay

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check the archive's integrity; with --against, rebuild each table and compare it with the live one.",
        discussion: """
        Integrity: every frame's checksum and decompression, every record, complete sealed files, commit \
        order across segments; one line per problem. Restore test (--against, the archived database): each \
        table rebuilt from the archive at a consistent point (a temporary slot's exported snapshot, which \
        the archive must have reached) and compared with the live table by row count and SHA-256 of the \
        sorted COPY text; one PASS/FAIL line per table. Exit status 1 on any problem or FAIL.
        """)

    @Option(help: "Archive folder, or s3://bucket/prefix (read through a local cache).") var archive: String
    @OptionGroup var encryption: EncryptionOptions
    @OptionGroup var s3: S3Options
    @OptionGroup var backupLog: BackupLogOptions
    @Option(help: "The archived database, for the restore test.") var against: String?
    @Option(name: .customLong("table"), help: "schema.table to restore-test (repeatable; default: all).") var tables: [String] = []
    @Option(help: ArgumentHelp("Seconds to wait for the archive to reach the source's position.", valueName: "seconds")) var wait: Double = 60
    @Option(help: "Sign the result with this Ed25519 key (logbook keygen --signing-key) into --manifest.") var signWith: String?
    @Option(help: "Where to write the signed manifest (chain head, range, base copies); check it later with logbook audit.") var manifest: String?

    func validate() throws { try OptionCheck.seconds("wait", wait, 0...86_400) }

    func run() throws {
        let archive = try s3.localArchive(self.archive)
        // An encrypted archive and no key: what is stored in the clear is checked (not the records).
        let encrypted = try ArchiveDirectory(archive).readIdentity()?.encryptionKeyID != nil
        let keyless = encryption.encryptionKeyFile == nil && against == nil && encrypted
        let key = keyless ? nil : try encryption.key(for: archive)
        let report = keyless ? try KeylessVerifier.verify(archive: archive) : try ArchiveVerifier.verify(archive: archive, key: key)
        for p in report.problems { print("PROBLEM \(p)") }
        if keyless {
            print("integrity without the key: \(report.segments) segments, \(report.baseCopies) base copies, \(report.frames) frames, \(report.transactions) transactions, \(report.problems.count) problems (checksums, content hashes, hash chain, commit order; pass --encryption-key-file to also decrypt and decode every record)")
        } else {
            print("integrity: \(report.segments) segments, \(report.baseCopies) base copies, \(report.transactions) transactions, \(report.problems.count) problems")
        }
        var failed = !report.ok
        if let against {
            let lines = try RestoreCheck.run(archive: archive, key: key, against: against, tables: tables, waitSeconds: wait,
                                             logger: LoggingSetup.logger(verbose: false))
            for l in lines { print(l.description) }
            failed = failed || lines.contains { !$0.pass }
        }
        if let target = try backupLog.conninfo(source: against), let table = backupLog.logTable {
            var result = "integrity: \(report.problems.count) problems"
            if against != nil { result += "; restore test: " + (failed ? "FAIL" : "PASS") + " (\(tables.isEmpty ? "all tables" : tables.joined(separator: ",")))" }
            try BackupLog(conninfo: target, table: table).recordVerification(archive: archive, passed: !failed, restoreTested: against != nil, result: result)
        }
        if failed { throw ExitCode(1) }
        if let signWith {
            guard let manifest else { throw ValidationError("--sign-with needs --manifest FILE to write the signed manifest to") }
            let signed = try SignedManifest.sign(try ManifestAudit.manifest(archive: archive, key: key, report: report), with: try SigningKey.load(file: signWith))
            try JSONOutput.string(signed).write(toFile: manifest, atomically: true, encoding: .utf8)
            print("signed manifest written to \(manifest) (key \(signed.keyID), head \(report.headSegment ?? "-"))")
        }
    }
}

struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Check a signed verification manifest against the archive: nothing before its head changed.",
        discussion: """
        The manifest (from logbook verify --sign-with KEY --manifest FILE) names the head of the archive's \
        hash chain when it was verified. audit checks the signature with the public key, verifies the \
        archive, and that the head segment and every base copy the manifest lists are unchanged (or were \
        pruned by retention). Exit status 1 on any problem.
        """)
    @Option(help: "Archive folder, or s3://bucket/prefix (read through a local cache).") var archive: String
    @OptionGroup var encryption: EncryptionOptions
    @OptionGroup var s3: S3Options
    @Option(help: "The signed manifest.") var manifest: String
    @Option(help: "The signer's public key (the .pub file logbook keygen wrote).") var publicKey: String

    func run() throws {
        let archive = try s3.localArchive(self.archive)
        let key = try encryption.key(for: archive)
        guard let data = FileManager.default.contents(atPath: manifest),
              let signed = try? JSONDecoder().decode(SignedManifest.self, from: data) else {
            throw ValidationError("\(manifest) is not a manifest written by logbook verify --manifest")
        }
        let m = try signed.open(publicKey: try SigningKey.loadPublic(file: publicKey))
        print("signature: valid (key \(signed.keyID)), verification of \(m.verifiedAt), head \(m.headSegment)")
        let result = try ManifestAudit.audit(archive: archive, key: key, manifest: m)
        for l in result.lines { print(l) }
        if !result.ok { throw ExitCode(1) }
    }
}

struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Create an encryption key (AES-256-GCM) or a signing key pair (Ed25519), owner-only.")
    @Option(help: "Write a new 32-byte encryption key to this file (for --encryption-key-file).") var encryptionKey: String?
    @Option(help: "Write a new Ed25519 private key to this file and its public key to FILE.pub (for verify --sign-with, audit).") var signingKey: String?

    func run() throws {
        guard encryptionKey != nil || signingKey != nil else { throw ValidationError("pass --encryption-key FILE or --signing-key FILE") }
        if let encryptionKey {
            let key = try ArchiveKey.create(file: encryptionKey)
            print("encryption key written to \(encryptionKey) (id \(key.id)); keep a copy off-site: without it the archive cannot be read")
        }
        if let signingKey {
            let key = try SigningKey.create(file: signingKey)
            print("signing key written to \(signingKey), public key to \(signingKey).pub (key \(key.id))")
        }
    }
}

struct CompactCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compact",
        abstract: "Write new base copies from the previous ones and the archived changes (offline, no load on the source).")
    @Option(help: "Archive folder.") var archive: String
    @OptionGroup var encryption: EncryptionOptions
    @Option(name: .customLong("table"), help: "schema.table (repeatable; default: all).") var tables: [String] = []

    func run() throws {
        let key = try encryption.key(for: archive)
        _ = try Archive.ArchiveDirectory(archive).requireIdentity()
        let lock = try ArchiveLock.acquire(Archive.ArchiveDirectory(archive), for: "compact")
        defer { withExtendedLifetime(lock) {} }
        let results = try Compactor.compact(archive: archive, key: key, tables: tables, logger: LoggingSetup.logger(verbose: false))
        if results.isEmpty { print("nothing to compact: every base copy is at the last sealed commit") }
        for r in results { print("\(r.table): new base copy at \(r.lsn), \(r.rows) rows (\((r.path as NSString).lastPathComponent))") }
    }
}
