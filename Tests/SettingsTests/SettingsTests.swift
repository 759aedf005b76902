import Settings
import XCTest

final class SettingsTests: XCTestCase {
    let commands = [
        CommandSpec(path: ["run"], options: [OptionSpec(name: "archive", isFlag: false), OptionSpec(name: "source", isFlag: false),
                                             OptionSpec(name: "segment-mib", isFlag: false, takesNumber: true), OptionSpec(name: "verbose", isFlag: true),
                                             OptionSpec(name: "tables", isFlag: false)]),
        CommandSpec(path: ["status"], options: [OptionSpec(name: "archive", isFlag: false), OptionSpec(name: "max-age", isFlag: false, takesNumber: true)]),
    ]

    func testPrecedenceFlagThenEnvironmentThenSectionThenTopLevel() throws {
        let file = try ConfigFile(path: "t.toml", text: """
        archive = "/top"
        segment-mib = 8
        [run]
        archive = "/section"
        tables = ["public.eld_events", "public.audit_log"]
        verbose = true
        """)
        let r = SettingsResolver(commands: commands, file: file, environment: ["LOGBOOK_SEGMENT_MIB": "16"])
        try r.validateFile()
        let run = try r.resolve(["run", "--source", "host=x"])
        XCTAssertEqual(Set(run.arguments), Set(["run", "--source", "host=x", "--archive=/section", "--segment-mib=16",
                                                "--tables=public.eld_events,public.audit_log", "--verbose"]))
        XCTAssertEqual(run.settings.first { $0.key == "segment-mib" }?.origin, .environment)
        XCTAssertEqual(run.settings.first { $0.key == "source" }?.origin, .flag)
        let flagWins = try r.resolve(["run", "--archive=/flag"])
        XCTAssertFalse(flagWins.arguments.contains("--archive=/section"))
        XCTAssertTrue(flagWins.arguments.contains("--archive=/flag"))
        // The top level serves every command that has the option.
        XCTAssertTrue(try r.resolve(["status"]).arguments.contains("--archive=/top"))
    }

    func testASettingOfSharedMeaningUnderOneCommandServesTheOthers() throws {
        let commands = [
            CommandSpec(path: ["run"], options: [OptionSpec(name: "archive", isFlag: false), OptionSpec(name: "log-table", isFlag: false),
                                                 OptionSpec(name: "tables", isFlag: false)]),
            CommandSpec(path: ["verify"], options: [OptionSpec(name: "archive", isFlag: false), OptionSpec(name: "log-table", isFlag: false),
                                                    OptionSpec(name: "tables", isFlag: false)]),
        ]
        let file = try ConfigFile(path: "t.toml", text: """
        [run]
        archive = "/var/lib/logbook"
        log-table = "public.backup_log"
        tables = "public.eld_events"
        """)
        let r = SettingsResolver(commands: commands, file: file, environment: [:])
        try r.validateFile()
        let verify = try r.resolve(["verify"]).arguments
        XCTAssertTrue(verify.contains("--log-table=public.backup_log"), "\(verify)")
        XCTAssertTrue(verify.contains("--archive=/var/lib/logbook"), "\(verify)")
        // An option whose meaning is the command's own (a table list) stays in its section.
        XCTAssertFalse(verify.contains { $0.hasPrefix("--tables") }, "\(verify)")
    }

    func testWhichTablesARestoreWritesComesFromItsCommandLineOnly() throws {
        let commands = [
            CommandSpec(path: ["run"], options: [OptionSpec(name: "tables", isFlag: false)]),
            CommandSpec(path: ["replay"], options: [OptionSpec(name: "table", isFlag: false), OptionSpec(name: "tables", isFlag: false),
                                                    OptionSpec(name: "all", isFlag: true)]),
        ]
        let file = try ConfigFile(path: "t.toml", text: "tables = \"public.a,public.b\"\n")
        let r = SettingsResolver(commands: commands, file: file, environment: ["LOGBOOK_TABLES": "public.a", "LOGBOOK_ALL": "true"])
        try r.validateFile()
        XCTAssertEqual(try r.resolve(["replay", "--table", "public.a"]).arguments, ["replay", "--table", "public.a"])
        XCTAssertTrue(try r.resolve(["run"]).arguments.contains("--tables=public.a"))
        let inSection = try ConfigFile(path: "t.toml", text: "[replay]\ntables = \"public.a\"\n")
        XCTAssertThrowsError(try SettingsResolver(commands: commands, file: inSection, environment: [:]).validateFile()) { e in
            XCTAssertTrue("\(e)".contains("command line only"), "\(e)")
        }
    }

    func testUnknownKeysSectionsAndWrongTypesAreOneLineEach() throws {
        func problem(_ text: String) -> String? {
            do {
                try SettingsResolver(commands: commands, file: try ConfigFile(path: "t.toml", text: text), environment: [:]).validateFile()
                return nil
            } catch let e as SettingsError { return e.description } catch { return "\(error)" }
        }
        XCTAssertNil(problem("[run]\nsegment_mib = 4\n"), "underscores stand for dashes")
        XCTAssertTrue(problem("[rnu]\narchive = 'x'\n")?.contains("unknown section [rnu]") == true)
        XCTAssertTrue(problem("[run]\nsegment-mb = 4\n")?.contains("has no option 'segment-mb'") == true)
        XCTAssertTrue(problem("[run]\nverbose = 'yes'\n")?.contains("is a flag") == true)
        XCTAssertTrue(problem("[run]\narchive = true\n")?.contains("takes a value") == true)
        XCTAssertTrue(problem("[run\narchive = 'x'\n")?.contains("t.toml:1") == true)
        // A number where the option takes text (a path): refused; where it takes a number: taken.
        XCTAssertTrue(problem("archive = 42\n")?.contains("takes text") == true)
        XCTAssertTrue(problem("[run]\nverbose = 1\n")?.contains("is a flag") == true)
        XCTAssertNil(problem("[status]\nmax-age = 90\n"))
    }

    func testEnvironmentFlagsAndBadBooleans() throws {
        let r = SettingsResolver(commands: commands, file: nil, environment: ["LOGBOOK_VERBOSE": "false"])
        XCTAssertEqual(try r.resolve(["run"]).arguments, ["run"])
        let on = SettingsResolver(commands: commands, file: nil, environment: ["LOGBOOK_VERBOSE": "1"])
        XCTAssertEqual(try on.resolve(["run"]).arguments, ["run", "--verbose"])
        let bad = SettingsResolver(commands: commands, file: nil, environment: ["LOGBOOK_VERBOSE": "maybe"])
        XCTAssertThrowsError(try bad.resolve(["run"]))
    }
}
