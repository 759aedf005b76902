import Archive
import ArgumentParser
import Foundation
import PGWire

/// Turns any error into the one line the user sees (with the fix), and an exit code.
enum Failure {
    static func present(_ error: Error) -> Error {
        let line: String
        switch error {
        case let e as any LogbookError: line = e.description
        default:
            // A bad or missing option value: one line (not the whole usage), exit status 64.
            if Logbook.exitCode(for: error) == .validationFailure {
                let message = Logbook.message(for: error).split(separator: "\n").first.map(String.init) ?? "invalid arguments"
                FileIO.say("logbook: error: \(message) (see --help)\n")
                return ExitCode.validationFailure
            }
            return error // --help, --version and the like print themselves.
        }
        FileIO.say("logbook: error: \(line)\n")
        return ExitCode(1)
    }
}
