import PGWire
import Foundation

/// `s3://bucket/prefix`.
public struct S3Location: Sendable, CustomStringConvertible {
    public var bucket: String
    /// Without leading or trailing slash; may be empty.
    public var prefix: String

    public init?(url: String) {
        guard url.hasPrefix("s3://") else { return nil }
        let rest = url.dropFirst(5)
        let parts = rest.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let b = parts.first, !b.isEmpty else { return nil }
        bucket = String(b)
        prefix = parts.count > 1 ? String(parts[1]).trimmingCharacters(in: CharacterSet(charactersIn: "/")) : ""
    }

    public static func isS3(_ s: String) -> Bool { s.hasPrefix("s3://") }

    /// The object key of a path relative to the archive folder.
    public func key(_ relative: String) -> String { prefix.isEmpty ? relative : prefix + "/" + relative }
    public var description: String { "s3://\(bucket)" + (prefix.isEmpty ? "" : "/\(prefix)") }
}

/// Credentials as the AWS tools find them: `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` /
/// `AWS_SESSION_TOKEN`, else the `AWS_PROFILE` (or default) section of `~/.aws/credentials`.
public struct S3Credentials: Sendable, CustomStringConvertible {
    public var accessKeyID: String
    public var secretAccessKey: String
    public var sessionToken: String?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID; self.secretAccessKey = secretAccessKey; self.sessionToken = sessionToken
    }

    /// Never prints the secret.
    public var description: String { "access key \(accessKeyID), secret ****" }

    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) throws -> S3Credentials {
        if let id = env["AWS_ACCESS_KEY_ID"], let secret = env["AWS_SECRET_ACCESS_KEY"], !id.isEmpty, !secret.isEmpty {
            return S3Credentials(accessKeyID: id, secretAccessKey: secret, sessionToken: env["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 })
        }
        let file = env["AWS_SHARED_CREDENTIALS_FILE"] ?? (env["HOME"] ?? NSHomeDirectory()) + "/.aws/credentials"
        let profile = env["AWS_PROFILE"] ?? "default"
        if let text = try? String(contentsOfFile: file, encoding: .utf8) {
            var section = ""
            var values: [String: String] = [:]
            for raw in text.split(whereSeparator: \.isNewline) {
                let line = raw.trimmingCharacters(in: .whitespaces)
                if line.hasPrefix("[") { section = line.trimmingCharacters(in: CharacterSet(charactersIn: "[] ")); continue }
                guard section == profile, let eq = line.firstIndex(of: "=") else { continue }
                values[line[..<eq].trimmingCharacters(in: .whitespaces)] = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            }
            if let id = values["aws_access_key_id"], let secret = values["aws_secret_access_key"] {
                return S3Credentials(accessKeyID: id, secretAccessKey: secret, sessionToken: values["aws_session_token"])
            }
        }
        throw S3Error(code: "NoCredentials", message: "no S3 credentials found",
                      fix: "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a [\(profile)] section in \(file)")
    }
}

/// Where and how to reach the store.
public struct S3Config: Sendable {
    public var location: S3Location
    /// `scheme://host[:port]`; nil: AWS (`https://s3.<region>.amazonaws.com`, virtual-hosted buckets).
    public var endpoint: URL?
    public var region: String
    public var credentials: S3Credentials
    /// Server-side encryption to ask for: `AES256` or `aws:kms`.
    public var serverSideEncryption: String?

    public init(location: S3Location, endpoint: URL?, region: String, credentials: S3Credentials, serverSideEncryption: String? = nil) {
        self.location = location; self.endpoint = endpoint; self.region = region
        self.credentials = credentials; self.serverSideEncryption = serverSideEncryption
    }

    /// From flags, falling back to `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_DEFAULT_REGION`.
    public static func resolve(url: String, endpoint: String?, region: String?, serverSideEncryption: String?,
                               environment env: [String: String] = ProcessInfo.processInfo.environment) throws -> S3Config {
        guard let location = S3Location(url: url) else {
            throw S3Error(code: "BadURL", message: "\(url) is not an s3:// URL", fix: "write it as s3://bucket/prefix")
        }
        let ep = endpoint ?? env["AWS_ENDPOINT_URL_S3"] ?? env["AWS_ENDPOINT_URL"]
        var endpointURL: URL?
        if let ep, !ep.isEmpty {
            guard let u = URL(string: ep), let scheme = u.scheme, ["http", "https"].contains(scheme), u.host != nil else {
                throw S3Error(code: "BadEndpoint", message: "\(ep) is not an http(s) URL", fix: "write the endpoint as https://host[:port]")
            }
            endpointURL = u
        }
        if let sse = serverSideEncryption, !["AES256", "aws:kms"].contains(sse) {
            throw S3Error(code: "BadSSE", message: "server-side encryption '\(sse)' is unknown", fix: "use AES256 or aws:kms")
        }
        let region = region ?? env["AWS_REGION"] ?? env["AWS_DEFAULT_REGION"] ?? "us-east-1"
        return S3Config(location: location, endpoint: endpointURL, region: region, credentials: try S3Credentials.fromEnvironment(env),
                        serverSideEncryption: serverSideEncryption)
    }
}

/// An answer from the store (its XML `Code`), or a failure to reach it; with the fix.
public struct S3Error: Error, CustomStringConvertible, Sendable {
    public var code: String
    public var message: String
    public var fix: String
    public var status: Int?
    public init(code: String, message: String, fix: String, status: Int? = nil) {
        self.code = code; self.message = message; self.fix = fix; self.status = status
    }
    public var description: String { "\(message) — \(fix)" }
    /// Worth retrying: the store is unreachable, busy or failing, not refusing.
    public var isTransient: Bool { status == nil || status! >= 500 || status == 429 || code == "RequestTimeout" }
}

extension S3Error: LogbookError {
    public var errorCode: String { code }
    public var errorFix: String? { fix }
}
