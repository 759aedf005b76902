import Archive
import ArgumentParser

/// `--encryption-key-file`: the archive's AES-256-GCM key, for every command that reads or writes one.
struct EncryptionOptions: ParsableArguments {
    @Option(help: "File holding the archive's 32-byte AES-256-GCM key (raw, hex or base64; mode 0600). Needed for an encrypted archive.")
    var encryptionKeyFile: String?

    /// Loads the key and, when `archive` exists, checks that it is that archive's. The key is
    /// handed to the library call; nothing is kept for the process.
    func key(for archive: String?) throws -> ArchiveKey? {
        let key = try encryptionKeyFile.map { try ArchiveKey.load(file: $0) }
        if let archive, let id = try ArchiveDirectory(archive).readIdentity() {
            try ArchiveEncryption.check(key, against: id, archive: archive)
        }
        return key
    }
}
