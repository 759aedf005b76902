import PGWire
import Foundation
import TOMLKit

/// `logbook.toml`: a table per command (`[run]`, `[replay]`, `[config-check]` …) whose keys are
/// that command's long option names (`segment-mib` or `segment_mib`), and top-level keys shared by
/// every command that has the option (`archive`, `source`).
public struct ConfigFile: Sendable {
    public enum Value: Sendable, Equatable {
        case text(String)
        case bool(Bool)
        /// A TOML integer or float, kept as written; only options that take a number accept it.
        case number(String)
    }

    public let path: String
    /// Section name (`""` for the top level) to key to value.
    public let sections: [String: [(key: String, value: Value)]]
    /// The file can be read by users other than its owner.
    public let readableByOthers: Bool

    public init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SettingsError("cannot read the configuration file \(path)", fix: "check the path and that this user can read it")
        }
        guard let text = String(data: data, encoding: .utf8), !text.contains("\0") else {
            throw SettingsError("\(path) is not a text file (not UTF-8, or it holds NUL bytes)", fix: "point --config at the TOML file (see logbook config check --help)")
        }
        let mode = ((try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? Int) ?? 0
        try self.init(path: path, text: text, readableByOthers: mode & 0o044 != 0)
    }

    public init(path: String, text: String, readableByOthers: Bool = false) throws {
        self.path = path
        self.readableByOthers = readableByOthers
        let table: TOMLTable
        do { table = try TOMLTable(string: text) } catch let e as TOMLParseError {
            throw SettingsError("\(path):\(e.source.begin.line):\(e.source.begin.column): \(e.description)",
                                fix: "fix the TOML syntax at that line (https://toml.io)")
        }
        var sections: [String: [(key: String, value: Value)]] = [:]
        for (key, value) in table {
            if let sub = value.table {
                var entries: [(key: String, value: Value)] = []
                for (k, v) in sub { entries.append((k, try Self.value(v, "\(key).\(k)", path))) }
                sections[key, default: []] += entries
            } else {
                sections["", default: []].append((key, try Self.value(value, key, path)))
            }
        }
        self.sections = sections
    }

    static func value(_ v: TOMLValueConvertible, _ key: String, _ path: String) throws -> Value {
        switch v.type {
        case .bool: return .bool(v.bool ?? false)
        case .string: return .text(v.string ?? "")
        case .int: return .number(String(v.int ?? 0))
        case .double: return .number(String(v.double ?? 0))
        case .array:
            var items: [String] = []
            for item in v.array ?? [] {
                switch item.type {
                case .string: items.append(item.string ?? "")
                case .int: items.append(String(item.int ?? 0))
                default: throw SettingsError("\(path): \(key) holds a list of \(item.type)", fix: "write a list of strings, e.g. [\"public.eld_events\", \"public.audit_log\"]")
                }
            }
            return .text(items.joined(separator: ","))
        default:
            throw SettingsError("\(path): \(key) is a \(v.type)", fix: "write it as a string, number, true/false or a list of strings")
        }
    }
}

/// A configuration problem: one line, and what to do about it.
public struct SettingsError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public let fix: String
    public init(_ message: String, fix: String) { self.message = message; self.fix = fix }
    public var description: String { "\(message) — \(fix)" }
}

extension SettingsError: LogbookError {
    public var errorCode: String { "settings" }
    public var errorFix: String? { fix }
}
