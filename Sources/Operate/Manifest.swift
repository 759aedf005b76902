import Archive
import Crypto
import Foundation
import PGWire

/// What `logbook verify --sign-with` attests: the archive's identity, its range, and the head of
/// its hash chain (which commits to every segment and anchored base copy before it).
public struct VerificationManifest: Codable, Sendable {
    public var format = "logbook-verification"
    public var version = 1
    public var systemIdentifier: String
    public var database: String
    public var slot: String
    public var verifiedAt: String
    public var segments: Int
    public var transactions: Int
    public var firstLSN: String?
    public var headSegment: String
    public var headSHA256: String
    public var headEndLSN: String?
    public var headCommitTime: String?
    /// The hash the chain starts from when the archive had been pruned.
    public var prunedHeadSHA256: String?
    public var baseCopies: [String: String]
}

/// A manifest as signed: the exact JSON bytes, an Ed25519 signature over them and the public key.
public struct SignedManifest: Codable, Sendable {
    public var payload: String
    public var signature: String
    public var publicKey: String
    public var keyID: String

    public static func sign(_ manifest: VerificationManifest, with key: SigningKey) throws -> SignedManifest {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .prettyPrinted]
        let payload = String(decoding: try enc.encode(manifest), as: UTF8.self)
        let signature = try key.privateKey.signature(for: Data(payload.utf8))
        return SignedManifest(payload: payload, signature: signature.base64EncodedString(),
                              publicKey: key.publicKeyBase64, keyID: key.id)
    }

    /// The manifest, if the signature over it is valid for `publicKey` (base64 of the raw 32 bytes).
    public func open(publicKey: String) throws -> VerificationManifest {
        guard publicKey == self.publicKey else {
            throw ArchiveError(.key, "the manifest was signed by key \(keyID), not by the public key given",
                               fix: "use the public key of the signer (the .pub file written by logbook keygen)")
        }
        guard let raw = Data(base64Encoded: publicKey), let pub = try? Curve25519.Signing.PublicKey(rawRepresentation: raw),
              let sig = Data(base64Encoded: signature), pub.isValidSignature(sig, for: Data(payload.utf8)) else {
            throw ArchiveError(.corrupt, "the manifest's signature is not valid: it was altered after signing",
                               fix: "get the original manifest from where the verification was filed")
        }
        return try JSONDecoder().decode(VerificationManifest.self, from: Data(payload.utf8))
    }
}

/// An Ed25519 signing key (`logbook keygen`): 32 raw bytes, hex or base64, in a file only its owner reads.
/// `@unchecked`: an immutable value whose one field (swift-crypto's key, not marked `Sendable` in
/// this version) is never mutated after `init`.
public struct SigningKey: @unchecked Sendable {
    let privateKey: Curve25519.Signing.PrivateKey
    public var publicKeyBase64: String { privateKey.publicKey.rawRepresentation.base64EncodedString() }
    public var id: String { Self.id(ofPublicKey: privateKey.publicKey.rawRepresentation) }

    public static func id(ofPublicKey raw: Data) -> String {
        SHA256.hash(data: raw).prefix(8).map { String(format: "%02x", $0) }.joined()
    }

    public static func generate() -> SigningKey { SigningKey(privateKey: Curve25519.Signing.PrivateKey()) }

    /// Creates a new key pair: the private key in `file` (owner-only), the public key in `file.pub`.
    public static func create(file: String) throws -> SigningKey {
        let key = generate()
        try createPrivateFile(file, key.rawPrivateKey, mode: 0o600)
        try createPrivateFile(file + ".pub", Data((key.publicKeyBase64 + "\n").utf8), mode: 0o644)
        return key
    }
    public var rawPrivateKey: Data { privateKey.rawRepresentation }

    public static func load(file: String) throws -> SigningKey {
        var bytes = try readPrivateKeyFile(file, what: "signing key", fix: "create one with: logbook keygen --signing-key \(file)")
        if bytes.count != 32 {
            let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            bytes = Data(base64Encoded: text).map { [UInt8]($0) } ?? []
        }
        guard bytes.count == 32, let k = try? Curve25519.Signing.PrivateKey(rawRepresentation: bytes) else {
            throw ArchiveError(.key, "\(file) holds no Ed25519 private key", fix: "create one with: logbook keygen --signing-key \(file)")
        }
        return SigningKey(privateKey: k)
    }

    /// A public key file: base64 of the raw 32 bytes (what keygen writes to `.pub`).
    public static func loadPublic(file: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ArchiveError(.key, "cannot read the public key file \(file)", fix: "use the .pub file logbook keygen wrote next to the signing key")
        }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let raw = Data(base64Encoded: text), raw.count == 32 else {
            throw ArchiveError(.key, "\(file) holds no Ed25519 public key (base64 of 32 bytes)", fix: "use the .pub file logbook keygen wrote")
        }
        return text
    }
}

public enum ManifestAudit {
    /// The manifest for a verification that found no problem.
    public static func manifest(archive path: String, key: ArchiveKey? = nil, report: IntegrityReport) throws -> VerificationManifest {
        let archive = ArchiveDirectory(path, key: key)
        let id = try archive.requireIdentity()
        guard report.ok else {
            throw ArchiveError(.corrupt, "the archive has \(report.problems.count) problems: a manifest is only signed for a clean verification",
                               fix: "resolve the problems listed above first")
        }
        guard let head = report.headSegment, let sha = report.headSHA256 else {
            throw ArchiveError(.outOfRange, "no sealed segment yet: nothing to sign", fix: "sign once logbook run has sealed a segment")
        }
        return VerificationManifest(systemIdentifier: id.systemIdentifier, database: id.database, slot: id.slot,
                                    verifiedAt: ISO8601DateFormatter().string(from: Date()), segments: report.segments,
                                    transactions: report.transactions, firstLSN: report.firstLSN?.description,
                                    headSegment: head, headSHA256: sha, headEndLSN: report.headLast?.endLSN.description,
                                    headCommitTime: report.headLast?.commitTime.description,
                                    prunedHeadSHA256: Retention.prunedRecord(archive)?.headSHA256,
                                    baseCopies: report.anchoredBaseCopies)
    }

    /// Checks that nothing the manifest attests has changed: the archive verifies, the head segment
    /// it names is still there with the same hash (so, by the chain, is everything before it), and
    /// every base copy it anchored is there unchanged or was pruned. One line per finding.
    public static func audit(archive path: String, key: ArchiveKey? = nil, manifest m: VerificationManifest) throws -> (ok: Bool, lines: [String]) {
        let archive = ArchiveDirectory(path, key: key)
        let id = try archive.requireIdentity()
        var lines: [String] = []
        var ok = true
        func problem(_ s: String) { ok = false; lines.append("PROBLEM " + s) }
        if id.systemIdentifier != m.systemIdentifier || id.database != m.database {
            problem("the manifest is for cluster \(m.systemIdentifier) database \(m.database), this archive for \(id.systemIdentifier) \(id.database)")
            return (false, lines)
        }
        let report = try ArchiveVerifier.verify(archive: path, key: key)
        for p in report.problems { problem(p) }
        let headPath = archive.segmentsPath + "/" + m.headSegment
        let pruned = Retention.prunedRecord(archive)
        if FileManager.default.fileExists(atPath: headPath) {
            let footer = try SegmentScanner.footer(of: headPath, key: archive.key)
            if footer.chainSHA256 != m.headSHA256 {
                problem("\(m.headSegment): the signed head had SHA-256 \(m.headSHA256.prefix(16)), the archive's segment now has \(footer.chainSHA256?.prefix(16) ?? "none")")
            }
        } else if let pruned, pruned.throughSegment >= m.headSegment {
            lines.append("note: the signed head \(m.headSegment) has since been pruned (retention); the chain is checked from the pruned head on")
        } else {
            problem("\(m.headSegment): the signed head segment is missing and was not pruned")
        }
        let prunedBases = Set(pruned?.baseCopies ?? [])
        for (name, sha) in m.baseCopies.sorted(by: { $0.key < $1.key }) {
            let p = archive.basePath + "/" + name
            if FileManager.default.fileExists(atPath: p) {
                if try BaseCopyReader.footer(of: p, key: archive.key).sha256 != sha { problem("\(name): base copy changed since the signed verification") }
            } else if !prunedBases.contains(name) {
                problem("\(name): base copy the manifest anchors is missing and was not pruned")
            }
        }
        if ok {
            lines.append("PASS nothing through \(m.headEndLSN ?? "-") (last commit \(m.headCommitTime ?? "-")) changed since the verification of \(m.verifiedAt)")
        }
        return (ok, lines)
    }
}
