import Foundation
import Replay
import XCTest

/// Runs replays for a sandbox.
struct Replay {
    let box: Sandbox
    init(_ box: Sandbox) { self.box = box }

    @discardableResult
    func run(table: String, target: String, point: ReplayPoint = .latest, into: String? = nil, replace: Bool = false,
             foldMemory: Int = 1 << 30, flatten: Bool = false) throws -> ReplayResult {
        var request = ReplayRequest(archive: box.archive, table: table, point: point,
                                    destination: .database(conninfo: target, into: into, replace: replace), foldMemory: foldMemory)
        request.flatten = flatten
        return try Replayer(request, logger: box.logger).run()
    }

    @discardableResult
    func toFile(table: String, path: String, format: String, point: ReplayPoint = .latest, foldMemory: Int = 1 << 30) throws -> ReplayResult {
        let r = try Replayer(ReplayRequest(archive: box.archive, table: table, point: point,
                                           destination: .file(path: path, format: format), foldMemory: foldMemory), logger: box.logger)
        return try r.run()
    }
}
