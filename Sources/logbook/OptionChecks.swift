import ArgumentParser

/// Range checks for option values, shared by the commands' `validate()`: the parser calls it for
/// flags, `LOGBOOK_*` variables and the configuration file alike (so `config check` reports a bad
/// value too). One line per bad value, naming the option, the value and what it takes.
enum OptionCheck {
    static func seconds(_ name: String, _ value: Double, _ range: ClosedRange<Double>) throws {
        guard value.isFinite, range.contains(value) else {
            throw ValidationError("--\(name) \(value): takes seconds from \(show(range.lowerBound)) to \(show(range.upperBound))")
        }
    }

    static func count(_ name: String, _ value: Int, _ range: ClosedRange<Int>, unit: String = "") throws {
        guard range.contains(value) else {
            throw ValidationError("--\(name) \(value): takes \(range.lowerBound) to \(range.upperBound)\(unit.isEmpty ? "" : " " + unit)")
        }
    }

    /// A duration (`90s`, `30m`, `12h`, `7d`, or seconds) up to 100 years; `zero` tells whether 0 is allowed.
    static func duration(_ name: String, _ text: String, zero: Bool, example: String = "7d") throws -> Double {
        guard let s = Duration.seconds(text), zero || s > 0 else {
            throw ValidationError("--\(name) '\(text)': takes a duration \(zero ? "from 0" : "above 0") and up to 100 years, such as \(example) (s, m, h, d)")
        }
        return s
    }

    static func size(_ name: String, _ text: String) throws -> Int64 {
        guard let b = ByteSize.parse(text) else {
            throw ValidationError("--\(name) '\(text)': takes a size from 0 to 8 EB, such as 512MB or 1GB")
        }
        return b
    }

    private static func show(_ v: Double) -> String { v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v) }
}
