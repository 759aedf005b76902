import Crypto
import Foundation

/// An archive's AES-256-GCM key (`--encryption-key-file`): 32 bytes, given raw, as 64 hex digits or
/// as base64. Its id (the first 16 hex digits of a SHA-256 over a label and the key) is recorded in
/// `archive.json`, so a wrong key is named before anything is decrypted. The key itself is never
/// logged, printed or written anywhere by logbook.
public struct ArchiveKey: Sendable {
    /// The 32 key bytes (a value, so the key is `Sendable`); `key` makes the CryptoKit key from them.
    let material: [UInt8]
    var key: SymmetricKey { SymmetricKey(data: material) }
    public let id: String

    public init(bytes: [UInt8]) throws {
        guard bytes.count == 32 else { throw ArchiveError(.key, "an encryption key has 32 bytes, this one \(bytes.count)", fix: Self.howToMake) }
        self.init(key32: bytes)
    }

    /// `bytes` has 32 bytes.
    private init(key32 bytes: [UInt8]) {
        material = bytes
        var h = SHA256()
        h.update(data: Array("logbook archive key v1".utf8))
        h.update(data: bytes)
        id = h.finalize().prefix(8).map { String(format: "%02x", $0) }.joined()
    }

    public static let howToMake = "make one with: head -c 32 /dev/urandom > logbook.key && chmod 600 logbook.key (and keep a copy off-site: without it the archive cannot be read)"

    /// Reads a key file; refuses one that other users can read.
    public static func load(file: String) throws -> ArchiveKey {
        let bytes = try readPrivateKeyFile(file, what: "encryption key", fix: "check the path and that this user can read it; " + howToMake)
        if bytes.count == 32 { return try ArchiveKey(bytes: bytes) }
        let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if text.count == 64, let hex = Self.hex(text) { return try ArchiveKey(bytes: hex) }
        if let b64 = Data(base64Encoded: text), b64.count == 32 { return try ArchiveKey(bytes: [UInt8](b64)) }
        throw ArchiveError(.key, "\(file) holds no 32-byte key (raw, 64 hex digits or base64)", fix: howToMake)
    }

    static func hex(_ s: String) -> [UInt8]? {
        var out: [UInt8] = []
        var it = s.utf8.makeIterator()
        while let a = it.next(), let b = it.next() {
            guard let hi = UInt8(String(UnicodeScalar(a)), radix: 16), let lo = UInt8(String(UnicodeScalar(b)), radix: 16) else { return nil }
            out.append(hi << 4 | lo)
        }
        return out
    }

    /// nonce (12) + ciphertext + tag (16), binding `aad`.
    public func seal(_ plain: [UInt8], aad: [UInt8]) throws -> [UInt8] {
        guard let sealed = try AES.GCM.seal(plain, using: key, nonce: AES.GCM.Nonce(), authenticating: aad).combined else {
            throw ArchiveError(.key, "AES-GCM gave no sealed box", fix: "report this: the nonce size is the standard one")
        }
        return [UInt8](sealed)
    }

    public func open(_ sealed: [UInt8], aad: [UInt8]) throws -> [UInt8] {
        [UInt8](try AES.GCM.open(AES.GCM.SealedBox(combined: sealed), using: key, authenticating: aad))
    }

    public static let overhead = 28
    public static let tagLength = 32

    /// HMAC-SHA256 of `bytes` with a key derived from this one (for the footers, which stay in the clear).
    public func tag(_ bytes: [UInt8]) -> [UInt8] {
        let macKey = HKDF<SHA256>.deriveKey(inputKeyMaterial: key, info: Array("logbook footer tag v1".utf8), outputByteCount: 32)
        return Array(HMAC<SHA256>.authenticationCode(for: bytes, using: macKey))
    }

    /// Creates a new random key in `file` (owner-only, never over an existing file).
    public static func create(file: String) throws -> ArchiveKey {
        var bytes = [UInt8](repeating: 0, count: 32)
        var rng = SystemRandomNumberGenerator()
        for i in bytes.indices { bytes[i] = rng.next() }
        try createPrivateFile(file, Data(bytes), mode: 0o600)
        return ArchiveKey(key32: bytes)
    }

    /// A fresh random key that lives only in memory (for temporary files such as spools).
    public static func ephemeral() -> ArchiveKey {
        ArchiveKey(key32: SymmetricKey(size: .bits256).withUnsafeBytes { [UInt8]($0) })
    }
}

/// The bytes of a private key file (encryption or signing key); refuses one other users can read.
public func readPrivateKeyFile(_ file: String, what: String, fix: String) throws -> [UInt8] {
    guard let data = FileManager.default.contents(atPath: file) else {
        throw ArchiveError(.key, "cannot read the \(what) file \(file)", fix: fix)
    }
    var st = stat()
    if stat(file, &st) == 0, st.st_mode & 0o077 != 0 {
        throw ArchiveError(.key, "the \(what) file \(file) can be read by other users", fix: "chmod 600 \(file)")
    }
    return [UInt8](data)
}

/// Whether a key fits an archive (keys themselves travel with `ArchiveDirectory`).
public enum ArchiveEncryption {
    /// Checks the key given against the archive's: the same, or none for an unencrypted archive.
    public static func check(_ key: ArchiveKey?, against identity: ArchiveIdentity, archive: String) throws {
        switch (identity.encryptionKeyID, key) {
        case (nil, nil): return
        case (let want?, nil):
            throw ArchiveError(.key, "\(archive) is encrypted (key id \(want))",
                               fix: "pass --encryption-key-file FILE (or set LOGBOOK_ENCRYPTION_KEY_FILE) with the key it was written with")
        case (nil, let k?):
            throw ArchiveError(.key, "\(archive) is not encrypted, but an encryption key (id \(k.id)) was given",
                               fix: "leave out --encryption-key-file for this archive, or start a new archive folder to encrypt")
        case (let want?, let k?) where want != k.id:
            throw ArchiveError(.key, "wrong encryption key for \(archive): the key file has id \(k.id), the archive was written with \(want)",
                               fix: "use the key file this archive was created with")
        default: return
        }
    }
}

/// Writes a new file with `mode`; refuses to replace one (a key is never overwritten).
public func createPrivateFile(_ path: String, _ bytes: Data, mode: Int) throws {
    guard !FileManager.default.fileExists(atPath: path) else {
        throw ArchiveError(.key, "\(path) exists", fix: "logbook keygen never overwrites a key: choose another file name")
    }
    guard FileManager.default.createFile(atPath: path, contents: bytes, attributes: [.posixPermissions: mode]) else {
        throw ArchiveError(.io, "cannot create \(path)", fix: "check that the folder exists and this user can write to it")
    }
}
