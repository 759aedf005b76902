import Foundation
import Operate
import ServiceLifecycle

/// Compaction and retention as a service: `MaintenanceWorker` runs what is due when a segment is
/// sealed; on shutdown the job in progress ends and its thread is joined.
struct MaintenanceService: Service, CustomStringConvertible {
    let worker: MaintenanceWorker
    var description: String { "maintenance" }

    func run() async throws {
        worker.start()
        // Waits for the group's graceful shutdown (or a cancellation), then lets the worker finish.
        try? await gracefulShutdown()
        let worker = self.worker
        try await Blocking.run("logbook-maintenance-stop") { worker.finish() }
    }
}
