import Archive
import Dispatch
import Foundation
import Replay

/// SIGINT and SIGTERM during a replay: its sessions in the target are ended (which rolls their
/// transactions back), its build tables dropped, one line printed, and the process exits 130 or
/// 143 as a shell expects of an interrupted command.
enum ReplaySignals {
    static func rollingBack<T>(_ interrupt: ReplayInterrupt, target: String?, _ body: () throws -> T) throws -> T {
        guard let target else { return try body() }
        let queue = DispatchQueue(label: "logbook-replay-signals")
        var sources: [DispatchSourceSignal] = []
        for (sig, code) in [(SIGINT, Int32(130)), (SIGTERM, Int32(143))] {
            signal(sig, SIG_IGN)
            let src = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            src.setEventHandler {
                let dropped = interrupt.rollBack(conninfo: target)
                FileIO.say("logbook: replay interrupted (\(sig == SIGINT ? "SIGINT" : "SIGTERM")): rolled back, \(dropped) build table\(dropped == 1 ? "" : "s") dropped; the target's tables are as they were\n")
                exit(code)
            }
            src.resume()
            sources.append(src)
        }
        defer {
            for s in sources { s.cancel() }
            signal(SIGINT, SIG_DFL)
            signal(SIGTERM, SIG_DFL)
        }
        do {
            return try body()
        } catch where interrupt.isRollingBack {
            // The signal's handler ended our sessions: it prints the line and exits; wait for it.
            while true { pause() }
        }
    }
}
