import Capture
import Foundation
import Logging
import Monitoring
import ServiceLifecycle

/// `/metrics` and `/healthz` as a service: serving from the start of the group to its end (it is
/// the last to stop, so the final state stays visible while the others shut down).
struct MetricsService: Service, CustomStringConvertible {
    let server: MetricsServer
    var description: String { "metrics" }

    func run() async throws {
        try? await gracefulShutdown()
        server.stop()
    }
}
