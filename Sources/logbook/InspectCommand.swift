import ArgumentParser
import Foundation
import Operate

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Show a segment's frames and transactions.")
    @Argument(help: "A segment file (.seg, or the open .partial).") var segment: String
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var encryption: EncryptionOptions

    func run() throws {
        let inspection = try SegmentInspection.inspect(path: segment, key: try encryption.key(for: nil))
        print(json ? try JSONOutput.string(inspection) : inspection.render(), terminator: json ? "\n" : "")
    }
}

enum JSONOutput {
    static func string<T: Encodable>(_ v: T) throws -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try enc.encode(v), as: UTF8.self)
    }
}
