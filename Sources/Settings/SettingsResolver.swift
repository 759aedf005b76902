/// Merges the configuration file, `LOGBOOK_*` variables and the command line into the arguments
/// the parser sees. Precedence, highest first: flag, environment, the command's section of the
/// file, the file's top level, the built-in default.
public struct SettingsResolver: Sendable {
    public enum Origin: String, Sendable { case flag, environment, file }

    public struct Setting: Sendable {
        public var key: String
        public var value: ConfigFile.Value
        public var origin: Origin
    }

    public struct Resolved: Sendable {
        public var command: CommandSpec?
        public var arguments: [String]
        public var settings: [Setting]
    }

    public let commands: [CommandSpec]
    public let file: ConfigFile?
    public let environment: [String: String]

    public init(commands: [CommandSpec], file: ConfigFile?, environment: [String: String]) {
        self.commands = commands; self.file = file; self.environment = environment
    }

    /// The environment variable for an option: `LOGBOOK_` + name upper-cased, dashes as underscores.
    public static func variable(_ option: String) -> String {
        "LOGBOOK_" + option.uppercased().replacingOccurrences(of: "-", with: "_")
    }

    /// The file's section name for a command: `run`, `config-check`.
    public static func section(_ command: CommandSpec) -> String { command.path.joined(separator: "-") }

    /// Checks every section and key of the file against the commands.
    public func validateFile() throws {
        guard let file else { return }
        let names = commands.map(Self.section)
        for (section, entries) in file.sections {
            let specs: [CommandSpec]
            if section.isEmpty {
                specs = commands
            } else {
                guard let c = commands.first(where: { Self.section($0) == section }) else {
                    throw SettingsError("\(file.path): unknown section [\(section)]",
                                        fix: "sections are command names: \(names.map { "[\($0)]" }.joined(separator: ", "))")
                }
                specs = [c]
            }
            for (key, value) in entries {
                let found = specs.compactMap { $0.option(key) }
                guard let spec = found.first else {
                    let known = Set(specs.flatMap { $0.options.map(\.name) }).sorted()
                    throw SettingsError("\(file.path): [\(section.isEmpty ? "top level" : section)] has no option '\(key)'",
                                        fix: "use one of: \(known.joined(separator: ", "))")
                }
                if !section.isEmpty, Self.commandLineOnly[section]?.contains(spec.name) == true {
                    throw SettingsError("\(file.path): [\(section)] \(key) is given on the command line only", fix: "say which tables to restore when you run it (--table, --tables or --all)")
                }
                if spec.isFlag, case .text = value {
                    throw SettingsError("\(file.path): \(section.isEmpty ? "" : section + ".")\(key) is a flag", fix: "write \(key) = true or false")
                }
                if spec.isFlag, case .number = value {
                    throw SettingsError("\(file.path): \(section.isEmpty ? "" : section + ".")\(key) is a flag", fix: "write \(key) = true or false")
                }
                if !spec.isFlag, !spec.takesNumber, case .number(let n) = value {
                    throw SettingsError("\(file.path): \(section.isEmpty ? "" : section + ".")\(key) takes text (a path, name, list or connection string), not the number \(n)",
                                        fix: "write \(key) = \"…\" as in --\(spec.name) …")
                }
                if !spec.isFlag, case .bool = value {
                    throw SettingsError("\(file.path): \(section.isEmpty ? "" : section + ".")\(key) takes a value, not true/false",
                                        fix: "write \(key) = \"…\" as in --\(spec.name) …")
                }
            }
        }
    }

    /// The command named by the leading words of `arguments`.
    public func command(in arguments: [String]) -> CommandSpec? {
        commands.filter { $0.path.count <= arguments.count && Array(arguments.prefix($0.path.count)) == $0.path }
            .max { $0.path.count < $1.path.count }
    }

    /// Options that mean the same thing for every command that takes them: one written under a
    /// command's section applies to the others too (their own section, then the top level, first).
    public static let sharedMeaning: Set<String> = [
        "archive", "source", "primary", "slot", "publication", "encryption-key-file", "log-table", "log-target",
        "s3-endpoint", "s3-region", "s3-cache", "kafka-brokers", "kafka-topic-prefix",
    ]

    /// Options taken from the command line alone: which tables a restore writes is said where it is run,
    /// never inherited from the archiver's `tables` (a `LOGBOOK_TABLES` or a top-level `tables`).
    public static let commandLineOnly: [String: Set<String>] = [
        "replay": ["table", "tables", "all"], "schema": ["table", "tables"],
    ]

    /// The arguments with every option not on the command line taken from the environment or the file.
    public func resolve(_ arguments: [String]) throws -> Resolved {
        guard let command = command(in: arguments) else { return Resolved(command: nil, arguments: arguments, settings: []) }
        let given = Set(arguments.compactMap { a -> String? in
            guard a.hasPrefix("--") else { return nil }
            return String(a.dropFirst(2).split(separator: "=", maxSplits: 1).first ?? "")
        })
        let section = Self.section(command)
        var extra: [String] = []
        var settings: [Setting] = []
        for option in command.options {
            if given.contains(option.name) {
                if let i = arguments.firstIndex(where: { $0 == "--" + option.name || $0.hasPrefix("--\(option.name)=") }) {
                    let a = arguments[i]
                    let value: ConfigFile.Value = option.isFlag ? .bool(true)
                        : a.contains("=") ? .text(String(a.split(separator: "=", maxSplits: 1)[1]))
                        : .text(i + 1 < arguments.count ? arguments[i + 1] : "")
                    settings.append(Setting(key: option.name, value: value, origin: .flag))
                }
                continue
            }
            if Self.commandLineOnly[command.name]?.contains(option.name) == true { continue }
            var found: (ConfigFile.Value, Origin)?
            if let raw = environment[Self.variable(option.name)] {
                if option.isFlag {
                    switch raw.lowercased() {
                    case "1", "true", "yes", "on": found = (.bool(true), .environment)
                    case "", "0", "false", "no", "off": found = (.bool(false), .environment)
                    default: throw SettingsError("\(Self.variable(option.name))=\(raw) is not a true/false value", fix: "set it to true or false")
                    }
                } else {
                    found = (.text(raw), .environment)
                }
            } else if let file {
                let key = { (k: String) in k.replacingOccurrences(of: "_", with: "-") == option.name }
                if let v = file.sections[section]?.last(where: { key($0.key) })?.value {
                    found = (v, .file)
                } else if let v = file.sections[""]?.last(where: { key($0.key) })?.value {
                    found = (v, .file)
                } else if Self.sharedMeaning.contains(option.name),
                          let v = file.sections.sorted(by: { $0.key < $1.key }).lazy.compactMap({ $0.value.last(where: { key($0.key) })?.value }).first {
                    // Written under another command's section ([run] log-table): the same setting for every command that takes it.
                    found = (v, .file)
                }
            }
            guard let (value, origin) = found else { continue }
            settings.append(Setting(key: option.name, value: value, origin: origin))
            switch value {
            case .bool(true): extra.append("--" + option.name)
            case .bool(false): break
            case .text(let s), .number(let s): extra.append("--\(option.name)=\(s)")
            }
        }
        // Options go right after the command words, so a `--` or positionals later stay as they were.
        let n = command.path.count
        return Resolved(command: command, arguments: Array(arguments.prefix(n)) + extra + Array(arguments.dropFirst(n)), settings: settings)
    }
}
