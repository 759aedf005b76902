import PGWire
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus

/// A small HTTP/1.1 endpoint next to `logbook run`: `GET /metrics` in the Prometheus text
/// format, `GET /healthz` answering 200 while the archiver streams and is durable, 503 otherwise.
public final class MetricsServer: Sendable {
    /// What `/healthz` reports.
    public struct Health: Sendable {
        public var healthy: Bool
        public var detail: String
        public init(healthy: Bool, detail: String) { self.healthy = healthy; self.detail = detail }
    }

    private let channel: any Channel
    /// The bound port (useful when asked for port 0).
    public let port: Int

    private init(channel: any Channel) {
        self.channel = channel
        self.port = channel.localAddress?.port ?? 0
    }

    /// Binds `host:port` and starts serving on NIO's shared event loops.
    public static func start(address: String, registry: PrometheusCollectorRegistry,
                             health: @escaping @Sendable () -> Health) throws -> MetricsServer {
        guard let (host, port) = parse(address) else { throw MetricsAddressError(address: address) }
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(registry: registry, health: health))
                }
            }
        do {
            let channel = try bootstrap.bind(host: host, port: port).wait()
            return MetricsServer(channel: channel)
        } catch let e as IOError {
            throw MetricsAddressError(address: address, reason: e.errnoCode == EADDRINUSE ? "is in use by another process" : "cannot be bound (\(e.description))")
        } catch {
            throw MetricsAddressError(address: address, reason: "cannot be bound (\(error))")
        }
    }

    public func stop() {
        try? channel.close().wait()
    }

    /// `host:port`, `[v6]:port` or `:port` (all interfaces).
    static func parse(_ address: String) -> (String, Int)? {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]),
              (0...65535).contains(port) else { return nil }
        var host = String(address[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host.isEmpty ? "0.0.0.0" : host, port)
    }

    private final class Handler: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let registry: PrometheusCollectorRegistry
        let health: @Sendable () -> Health
        var head: HTTPRequestHead?

        init(registry: PrometheusCollectorRegistry, health: @escaping @Sendable () -> Health) {
            self.registry = registry
            self.health = health
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let h): head = h
            case .body: break
            case .end:
                guard let head else { return }
                self.head = nil
                let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
                let (status, type, body): (HTTPResponseStatus, String, [UInt8])
                switch (head.method, path) {
                case (.GET, "/metrics"), (.HEAD, "/metrics"):
                    (status, type, body) = (.ok, "text/plain; version=0.0.4; charset=utf-8", registry.emitToBuffer())
                case (.GET, "/healthz"), (.HEAD, "/healthz"):
                    let h = health()
                    (status, type, body) = (h.healthy ? .ok : .serviceUnavailable, "text/plain; charset=utf-8",
                                            Array(((h.healthy ? "ok: " : "unhealthy: ") + h.detail + "\n").utf8))
                case (.GET, _), (.HEAD, _):
                    (status, type, body) = (.notFound, "text/plain; charset=utf-8", Array("try /metrics or /healthz\n".utf8))
                default:
                    (status, type, body) = (.methodNotAllowed, "text/plain; charset=utf-8", Array("GET only\n".utf8))
                }
                var headers = HTTPHeaders()
                headers.add(name: "Content-Type", value: type)
                headers.add(name: "Content-Length", value: String(body.count))
                let keepAlive = head.isKeepAlive
                if !keepAlive { headers.add(name: "Connection", value: "close") }
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
                if head.method != .HEAD {
                    context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
                }
                let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
                if !keepAlive {
                    let ctx = NIOLoopBound(context, eventLoop: context.eventLoop)
                    done.whenComplete { _ in ctx.value.close(promise: nil) }
                }
            }
        }
    }
}

/// `--metrics-address` that is not `host:port`.
public struct MetricsAddressError: Error, CustomStringConvertible {
    public let address: String
    /// Nil: not `host:port`; else why it could not be served (in use, not an address of this machine).
    public var reason: String?
    public init(address: String, reason: String? = nil) { self.address = address; self.reason = reason }
    public var description: String {
        guard let reason else { return "--metrics-address \(address) is not host:port; use e.g. 127.0.0.1:9187" }
        return "--metrics-address \(address) \(reason) — choose a free port (metrics-address in the configuration file), or stop what holds it (ss -ltnp 'sport = :\(address.split(separator: ":").last ?? "")')"
    }
}

extension MetricsAddressError: LogbookError {
    public var errorCode: String { "metricsAddress" }
    public var errorFix: String? { nil }
}
