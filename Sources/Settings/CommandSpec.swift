import Foundation

/// One option a command accepts, as the command-line parser defines it.
public struct OptionSpec: Sendable, Hashable {
    /// The long name without dashes (`segment-mib`).
    public var name: String
    /// A flag takes no value (`--verbose`); in the file it is `true` or `false`.
    public var isFlag: Bool
    /// The option takes a number, size or duration (its value name is one of `numericValueNames`),
    /// so a TOML integer or float is right for it; any other option takes text.
    public var takesNumber: Bool
    public init(name: String, isFlag: Bool, takesNumber: Bool = false) { self.name = name; self.isFlag = isFlag; self.takesNumber = takesNumber }

    /// Value names (`--flush-interval <seconds>`) of the options that take a number, size or duration.
    public static let numericValueNames: Set<String> = ["seconds", "MiB", "count", "duration", "size"]
}

/// A command (`run`, `config check`) and its options.
public struct CommandSpec: Sendable {
    public var path: [String]
    public var options: [OptionSpec]
    /// Positional arguments that must be given (never taken from the file).
    public var requiredPositionals: Int
    public var name: String { path.joined(separator: " ") }

    public init(path: [String], options: [OptionSpec], requiredPositionals: Int = 0) {
        self.path = path; self.options = options; self.requiredPositionals = requiredPositionals
    }

    public func option(_ key: String) -> OptionSpec? {
        let k = key.replacingOccurrences(of: "_", with: "-")
        return options.first { $0.name == k }
    }

    /// Every leaf command in the JSON the argument parser dumps of itself (`_dumpHelp()`).
    public static func fromDumpHelp(_ json: String) throws -> [CommandSpec] {
        struct Dump: Decodable { var command: Command }
        struct Command: Decodable {
            var commandName: String
            var subcommands: [Command]?
            var arguments: [Argument]?
        }
        struct Argument: Decodable {
            var kind: String
            var names: [Name]?
            var isOptional: Bool?
            var shouldDisplay: Bool?
            var valueName: String?
        }
        struct Name: Decodable { var kind: String; var name: String }
        let dump = try JSONDecoder().decode(Dump.self, from: Data(json.utf8))
        var out: [CommandSpec] = []
        func walk(_ c: Command, _ path: [String]) {
            if let subs = c.subcommands, !subs.isEmpty {
                for s in subs where s.commandName != "help" { walk(s, path + [s.commandName]) }
                return
            }
            var options: [OptionSpec] = []
            var positionals = 0
            for a in c.arguments ?? [] {
                if a.kind == "positional" {
                    if a.isOptional != true { positionals += 1 }
                    continue
                }
                guard let long = a.names?.first(where: { $0.kind == "long" })?.name,
                      !["help", "version", "config"].contains(long), !long.hasPrefix("experimental") else { continue }
                options.append(OptionSpec(name: long, isFlag: a.kind == "flag",
                                          takesNumber: a.valueName.map(OptionSpec.numericValueNames.contains) ?? false))
            }
            out.append(CommandSpec(path: path, options: options, requiredPositionals: positionals))
        }
        walk(dump.command, [])
        return out
    }
}
