import ArgumentParser
import Foundation
import LibPQ
import Settings

/// `--config FILE` / `LOGBOOK_CONFIG`: every command's options from a TOML file, under
/// `LOGBOOK_*` variables and flags.
enum Configuration {
    static var commands: [CommandSpec] {
        (try? CommandSpec.fromDumpHelp(Logbook._dumpHelp())) ?? []
    }

    /// Removes `--config FILE` from the arguments and merges the file and the environment in.
    static func resolve(_ arguments: [String], environment: [String: String] = ProcessInfo.processInfo.environment) throws -> [String] {
        var args = arguments
        var path = environment["LOGBOOK_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
        if let i = args.firstIndex(where: { $0 == "--config" || $0.hasPrefix("--config=") }) {
            if args[i] == "--config" {
                guard i + 1 < args.count else { throw SettingsError("--config needs a file", fix: "pass --config /etc/logbook/logbook.toml") }
                path = args[i + 1]
                args.removeSubrange(i...(i + 1))
            } else {
                path = String(args[i].dropFirst("--config=".count))
                args.remove(at: i)
            }
        }
        // `config check FILE` reads its file itself.
        if args.first == "config" { return args }
        let file = try path.map { try ConfigFile(path: $0) }
        let resolver = SettingsResolver(commands: commands, file: file, environment: environment)
        try resolver.validateFile()
        return try resolver.resolve(args).arguments
    }

    /// A value as it may be shown: connection-string passwords and secret options masked.
    static func shown(_ key: String, _ value: ConfigFile.Value) -> String {
        switch value {
        case .bool(let b): return String(b)
        case .number(let n): return n
        case .text(let s):
            if key.contains("password") || key.contains("secret") || key.hasSuffix("-key") { return s.isEmpty ? "" : "****" }
            if key.contains("sasl") || key.contains("ssl-key") { return "****" }
            return ConnectionString.redacted(s)
        }
    }
}

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Check a configuration file.",
        subcommands: [ConfigCheckCommand.self])
}

struct ConfigCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate a configuration file and print the effective settings, secrets masked.",
        discussion: """
        The file is TOML: a table per command ([run], [replay], [status], …) whose keys are that command's \
        long options (segment-mib or segment_mib), plus top-level keys shared by every command that has \
        the option (archive, source). Flags are true/false; lists of strings are joined with commas. \
        Precedence, highest first: the command line, LOGBOOK_<OPTION> variables (LOGBOOK_SEGMENT_MIB), \
        the command's table, the top level, the built-in default. Any command takes --config FILE (or \
        LOGBOOK_CONFIG). Exit status 1 on any problem, with one line naming it and the fix.
        """)

    @Argument(help: "The TOML file.") var file: String

    func run() throws {
        let config = try ConfigFile(path: file)
        let commands = Configuration.commands
        let resolver = SettingsResolver(commands: commands, file: config, environment: ProcessInfo.processInfo.environment)
        try resolver.validateFile()
        let named = commands.filter { config.sections[SettingsResolver.section($0)] != nil }
        let shown = named.isEmpty ? commands.filter { $0.path == ["run"] } : named
        var out = "\(file): OK\n"
        for command in shown {
            let resolved = try resolver.resolve(command.path)
            try validate(resolved.arguments, command: command)
            out += "[\(SettingsResolver.section(command))]\n"
            for s in resolved.settings {
                let origin = s.origin == .environment ? "environment \(SettingsResolver.variable(s.key))" : s.origin.rawValue
                out += "  \(s.key) = \(Configuration.shown(s.key, s.value))   (\(origin))\n"
            }
        }
        if config.readableByOthers, config.sections.values.contains(where: { $0.contains { e in
            if case .text(let v) = e.value { return ConnectionString.containsPassword(v) || e.key.contains("password") }
            return false
        } }) {
            out += "warning: \(file) holds a password and other users can read it; chmod 600 \(file)\n"
        }
        print(out, terminator: "")
    }

    /// Parses the merged arguments the way the command would, with placeholders for what only the
    /// command line can give (positionals, required options the file leaves out).
    func validate(_ arguments: [String], command: CommandSpec) throws {
        var args = arguments + Array(repeating: "placeholder", count: command.requiredPositionals)
        for _ in 0..<20 {
            do {
                _ = try Logbook.parseAsRoot(args)
                return
            } catch {
                let message = Logbook.message(for: error)
                if message.hasPrefix("Missing expected argument '--"),
                   let name = message.dropFirst("Missing expected argument '--".count).split(whereSeparator: { $0 == " " || $0 == "'" }).first {
                    args.insert(contentsOf: ["--\(name)", "placeholder"], at: command.path.count)
                    continue
                }
                throw SettingsError("\(file): [\(SettingsResolver.section(command))]: \(message)", fix: "correct that value (see logbook \(command.name) --help)")
            }
        }
    }
}
