import Capture
import Foundation
import Logging
import ServiceLifecycle

/// The capture (`CaptureService`) as a service: its loop on a thread of its own; a graceful
/// shutdown or a cancellation asks it to stop, and it finishes or discards the frame, fsyncs,
/// confirms and returns — during preflight, a base copy (the partial file is taken again at the
/// next start) or a long transaction alike.
struct CaptureRunner: Service, CustomStringConvertible {
    let options: CaptureOptions
    let logger: Logger
    /// Called once the capture has returned or thrown (the followers' last pass begins).
    var onEnd: @Sendable () -> Void = {}
    let stop = StopSignal()
    var description: String { "capture" }

    func run() async throws {
        let options = self.options, logger = self.logger, stop = self.stop, onEnd = self.onEnd
        defer { onEnd() }
        try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
                try await Blocking.run("logbook-capture") { try CaptureService(options: options, logger: logger, stop: stop).run() }
            } onGracefulShutdown: {
                stop.request()
            }
        } onCancel: {
            stop.request()
        }
    }
}
