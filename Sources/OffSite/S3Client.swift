import Archive
import AsyncHTTPClient
import Crypto
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// One object of a listing.
public struct S3Object: Sendable, Equatable {
    public var key: String
    public var size: Int
    public var etag: String
}

/// The few S3 calls Logbook needs (PUT, GET, HEAD, ListObjectsV2, CreateBucket), signed with SigV4,
/// on AsyncHTTPClient. Bodies stream from and to files in 1 MiB pieces.
public struct S3Client: Sendable {
    public let config: S3Config
    let signer: SigV4
    let client: HTTPClient

    /// One client for the process: connections fail fast (the uploader retries with its own backoff).
    public static let http: HTTPClient = {
        var c = HTTPClient.Configuration()
        c.timeout = .init(connect: .seconds(10), read: .seconds(120))
        c.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: c)
    }()

    public init(config: S3Config, client: HTTPClient = S3Client.http) {
        self.config = config
        self.signer = SigV4(credentials: config.credentials, region: config.region)
        self.client = client
    }

    static let emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// Uploads a file. `sha256` (hex) is signed as the payload hash and sent as the object's
    /// checksum, so the store refuses the object if a byte differs; also kept as metadata.
    public func put(key: String, file: String, sha256: String, md5: String, size: Int) async throws {
        let bytes = (0..<32).compactMap { i in UInt8(sha256.dropFirst(i * 2).prefix(2), radix: 16) }
        guard sha256.count == 64, bytes.count == 32 else {
            throw S3Error(code: "InvalidDigest", message: "not a SHA-256 in hex: \(sha256.prefix(70))", fix: "pass the file's SHA-256 as 64 hex digits")
        }
        let digest = Data(bytes)
        var headers = [("content-length", String(size)), ("content-type", "application/octet-stream"), ("content-md5", md5),
                       ("x-amz-sdk-checksum-algorithm", "SHA256"), ("x-amz-checksum-sha256", digest.base64EncodedString()),
                       ("x-amz-meta-sha256", sha256)]
        if let sse = config.serverSideEncryption { headers.append(("x-amz-server-side-encryption", sse)) }
        let body = HTTPClientRequest.Body.stream(FileChunks(path: file), length: .known(Int64(size)))
        let response = try await send("PUT", key: key, query: [], headers: headers, payloadSHA256: sha256, body: body)
        try await Self.check(response, "PUT \(key)")
        if let echoed = response.headers.first(name: "x-amz-checksum-sha256"), echoed != digest.base64EncodedString() {
            throw S3Error(code: "BadDigest", message: "the store stored \(key) with another SHA-256", fix: "the upload will be retried", status: 500)
        }
    }

    /// Downloads an object into `file`; returns the SHA-256 (hex) of what arrived and the one recorded at upload.
    public func get(key: String, to file: String) async throws -> (actual: String, recorded: String?) {
        let response = try await send("GET", key: key, query: [], headers: [], payloadSHA256: Self.emptySHA256, body: nil)
        if response.status != .ok { try await Self.check(response, "GET \(key)") }
        let tmp = file + ".download"
        // File work on NIO's blocking pool, off the cooperative one; a full disk is one clear line.
        let pool = NIOThreadPool.singleton
        let out = try await pool.runIfActive { try FileIO.open(tmp, O_WRONLY | O_CREAT | O_TRUNC) }
        var hasher = SHA256()
        do {
            for try await chunk in response.body {
                let bytes = [UInt8](chunk.readableBytesView)
                hasher.update(data: bytes)
                try await pool.runIfActive { try FileIO.writeAll(out, bytes, path: tmp) }
            }
            try await pool.runIfActive {
                try FileIO.fsync(out, path: tmp)
                close(out)
                try FileIO.rename(tmp, file)
            }
        } catch {
            close(out)
            try? FileIO.unlink(tmp)
            throw error
        }
        return (SigV4.hex(hasher.finalize()), response.headers.first(name: "x-amz-meta-sha256"))
    }

    /// Every object under `prefix`.
    public func list(prefix: String) async throws -> [S3Object] {
        var objects: [S3Object] = []
        var token: String?
        repeat {
            var query = [("list-type", "2"), ("prefix", prefix)]
            if let token { query.append(("continuation-token", token)) }
            let response = try await send("GET", key: nil, query: query, headers: [], payloadSHA256: Self.emptySHA256, body: nil)
            let body = try await response.body.collect(upTo: 64 << 20)
            if response.status != .ok { throw Self.error(status: Int(response.status.code), body: body, what: "list \(prefix)") }
            let page = try ListParser.parse(Data(body.readableBytesView))
            objects += page.objects
            token = page.truncated ? page.nextToken : nil
        } while token != nil
        return objects
    }

    public func createBucket() async throws {
        var body: HTTPClientRequest.Body?
        var sha = Self.emptySHA256
        var headers: [(String, String)] = []
        if config.region != "us-east-1" {
            let xml = Data("<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>\(config.region)</LocationConstraint></CreateBucketConfiguration>".utf8)
            sha = SigV4.hex(SHA256.hash(data: xml))
            body = .bytes(ByteBuffer(bytes: xml))
            headers.append(("content-length", String(xml.count)))
        }
        let response = try await send("PUT", key: nil, query: [], headers: headers, payloadSHA256: sha, body: body)
        try await Self.check(response, "create bucket \(config.location.bucket)")
    }

    // MARK: - Requests

    func send(_ method: String, key: String?, query: [(String, String)], headers: [(String, String)], payloadSHA256: String,
              body: HTTPClientRequest.Body?) async throws -> HTTPClientResponse {
        let bucket = config.location.bucket
        var host: String, scheme: String, path: String
        if let ep = config.endpoint {
            scheme = ep.scheme ?? "https"
            host = ep.host! + (ep.port.map { ":\($0)" } ?? "")
            path = "/\(bucket)" + (key.map { "/" + $0 } ?? "")
        } else {
            scheme = "https"
            host = "\(bucket).s3.\(config.region).amazonaws.com"
            path = "/" + (key ?? "")
        }
        let signed = signer.sign(method: method, path: path, query: query, headers: headers + [("host", host)],
                                 payloadSHA256: payloadSHA256, date: Date())
        let q = query.map { "\(SigV4.encode($0.0))=\(SigV4.encode($0.1))" }.joined(separator: "&")
        var request = HTTPClientRequest(url: "\(scheme)://\(host)\(SigV4.encode(path, keepSlash: true))" + (q.isEmpty ? "" : "?" + q))
        request.method = HTTPMethod(rawValue: method)
        for (k, v) in headers + signed { request.headers.add(name: k, value: v) }
        if let body { request.body = body }
        do {
            return try await client.execute(request, timeout: .seconds(300))
        } catch {
            throw S3Error(code: "Unreachable", message: "cannot reach the store at \(scheme)://\(host): \(error)",
                          fix: "check --s3-endpoint (or AWS_ENDPOINT_URL) and that the store is up; uploads are retried")
        }
    }

    static func check(_ response: HTTPClientResponse, _ what: String) async throws {
        guard (200..<300).contains(Int(response.status.code)) else {
            let body = (try? await response.body.collect(upTo: 1 << 20)) ?? ByteBuffer()
            throw error(status: Int(response.status.code), body: body, what: what)
        }
    }

    static func error(status: Int, body: ByteBuffer, what: String) -> S3Error {
        let text = String(buffer: body)
        func tag(_ name: String) -> String? {
            guard let a = text.range(of: "<\(name)>"), let b = text.range(of: "</\(name)>", range: a.upperBound..<text.endIndex) else { return nil }
            return String(text[a.upperBound..<b.lowerBound])
        }
        let code = tag("Code") ?? "HTTP\(status)"
        let message = "\(what): \(code)" + (tag("Message").map { " (\($0))" } ?? "")
        let fix: String
        switch code {
        case "NoSuchBucket": fix = "create the bucket, or check --s3-url"
        case "InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied":
            fix = "check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or ~/.aws/credentials) and the bucket policy"
        case "BadDigest", "XAmzContentSHA256Mismatch", "InvalidDigest": fix = "the bytes changed in transit; the upload is retried"
        case "NoSuchKey": fix = "the object is not in the bucket: check --s3-url, or upload first"
        default: fix = status >= 500 ? "the store failed; it is retried" : "see the store's message"
        }
        return S3Error(code: code, message: message, fix: fix, status: status)
    }
}

/// SHA-256 (hex) and MD5 (base64, for `Content-MD5`) of a file, in one pass.
public func fileDigests(_ path: String) throws -> (sha256: String, md5: String, size: Int) {
    guard let h = FileHandle(forReadingAtPath: path) else {
        throw S3Error(code: "LocalIO", message: "cannot read \(path)", fix: "check the archive folder's permissions")
    }
    defer { try? h.close() }
    var sha = SHA256(), md5 = Insecure.MD5()
    var size = 0
    while let d = try h.read(upToCount: 1 << 20), !d.isEmpty {
        sha.update(data: d); md5.update(data: d); size += d.count
    }
    return (SigV4.hex(sha.finalize()), Data(md5.finalize()).base64EncodedString(), size)
}

/// A file as an async sequence of 1 MiB buffers. Each read runs on NIO's blocking thread pool,
/// never on the cooperative pool; the file is opened on the first read and closed at its end.
struct FileChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let path: String
    struct AsyncIterator: AsyncIteratorProtocol {
        let path: String
        var fd: Int32 = -1
        var offset = 0
        mutating func next() async throws -> ByteBuffer? {
            let (path, at) = (self.path, offset)
            if fd < 0 { fd = try await NIOThreadPool.singleton.runIfActive { try FileIO.open(path, O_RDONLY) } }
            let fd = self.fd
            let chunk = try await NIOThreadPool.singleton.runIfActive { () -> [UInt8] in
                var buf = [UInt8](repeating: 0, count: 1 << 20)
                let n = try FileIO.pread(fd, into: &buf, count: buf.count, at: at, path: path)
                return Array(buf.prefix(n))
            }
            if chunk.isEmpty {
                close(fd)
                self.fd = -1
                return nil
            }
            offset += chunk.count
            return ByteBuffer(bytes: chunk)
        }
    }
    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(path: path) }
}

/// ListObjectsV2's XML.
final class ListParser: NSObject, XMLParserDelegate {
    var objects: [S3Object] = []
    var truncated = false
    var nextToken: String?
    private var text = ""
    private var current: S3Object?

    /// A listing that is not well-formed XML is an error, never a shorter list.
    static func parse(_ data: Data) throws -> (objects: [S3Object], truncated: Bool, nextToken: String?) {
        let p = ListParser()
        let parser = XMLParser(data: data)
        parser.delegate = p
        guard parser.parse() else {
            throw S3Error(code: "BadListing", message: "the store's object listing is not well-formed XML (\(parser.parserError.map { "\($0)" } ?? "parse error"))",
                          fix: "check --s3-endpoint points at an S3-compatible store; the listing is asked for again on the next attempt")
        }
        return (p.objects, p.truncated, p.nextToken)
    }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
        text = ""
        if name == "Contents" { current = S3Object(key: "", size: 0, etag: "") }
    }
    func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }
    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        switch name {
        case "Key": current?.key = text
        case "Size": current?.size = Int(text) ?? 0
        case "ETag": current?.etag = text.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        case "Contents": if let c = current { objects.append(c) }; current = nil
        case "IsTruncated": truncated = text == "true"
        case "NextContinuationToken": nextToken = text
        default: break
        }
    }
}

/// Runs async work from a thread that may block (the archiver's threads, the CLI's main thread),
/// never from the cooperative pool.
public func runBlocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    try CancellableRequests().run(body)
}

/// `runBlocking` for requests that a shutdown may cut short: once `cancelAll()` is called, the
/// request in flight is cancelled and every later one fails at once with `CancellationError`.
public final class CancellableRequests: Sendable {
    private let state = Mutex<(cancelled: Bool, current: Task<Void, Never>?)>((false, nil))
    public init() {}
    public var isCancelled: Bool { state.withLock { $0.cancelled } }

    public func cancelAll() {
        state.withLock { s in
            s.cancelled = true
            s.current?.cancel()
        }
    }

    /// Runs `body` as a task and waits for it on the calling thread (one that may block, never the cooperative pool).
    public func run<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
        let box = ResultBox<T>()
        let done = DispatchSemaphore(value: 0)
        let started = state.withLock { s -> Bool in
            guard !s.cancelled else { return false }
            s.current = Task {
                let r: Result<T, Error>
                do { r = .success(try await body()) } catch { r = .failure(error) }
                box.set(r)
                done.signal()
            }
            return true
        }
        guard started else { throw CancellationError() }
        done.wait()
        state.withLock { $0.current = nil }
        guard let result = box.get() else { throw CancellationError() }
        return try result.get()
    }
}

/// The result handed from the task to the waiting thread.
final class ResultBox<T: Sendable>: Sendable {
    private let result = Mutex<Result<T, Error>?>(nil)
    func set(_ r: Result<T, Error>) { result.withLock { $0 = r } }
    func get() -> Result<T, Error>? { result.withLock { $0 } }
}
