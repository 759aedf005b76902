/// A table's name as PostgreSQL spells it: `schema.table`, each part an identifier that is
/// folded to lower case unless double-quoted (`"Fleet Ops"."Driver Notes"`, with `""` for a quote
/// inside), the way `psql` and `pg_dump -t` take it. A name without a schema is in `public`.
public struct QualifiedName: Hashable, Sendable, CustomStringConvertible {
    public var schema: String
    public var name: String
    public init(schema: String, name: String) { self.schema = schema; self.name = name }

    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public var input: String
        public var why: String
        public var description: String { "'\(input)' is not a table name: \(why) — \(errorFix ?? "")" }
    }

    /// Parses `schema.table`, `table`, with quoted parts keeping case, spaces, dots and quotes.
    public init(parsing text: String) throws {
        var parts: [String] = []
        var current = ""
        var quoted = false, wasQuoted = false, sawAny = false
        let chars = Array(text.trimmingSpaces())
        var i = 0
        func fail(_ why: String) -> ParseError { ParseError(input: text, why: why) }
        while i < chars.count {
            let c = chars[i]
            if quoted {
                if c == "\"" {
                    if i + 1 < chars.count, chars[i + 1] == "\"" { current.append("\""); i += 2; continue }
                    quoted = false
                } else {
                    current.append(c)
                }
            } else if c == "\"" {
                guard !sawAny else { throw fail("a quote in the middle of a name part") }
                quoted = true; wasQuoted = true; sawAny = true
            } else if c == "." {
                guard sawAny else { throw fail("an empty name part") }
                parts.append(current); current = ""; sawAny = false; wasQuoted = false
            } else {
                guard !wasQuoted else { throw fail("characters after a closing quote") }
                guard c != " " && c != "\t" else { throw fail("a space outside quotes (quote the part: \"Name With Spaces\")") }
                current.append(contentsOf: c.lowercased()); sawAny = true
            }
            i += 1
        }
        guard !quoted else { throw fail("an unclosed quote") }
        guard sawAny else { throw fail(parts.isEmpty ? "it is empty" : "an empty name part") }
        parts.append(current)
        switch parts.count {
        case 1: schema = "public"; name = parts[0]
        case 2: schema = parts[0]; name = parts[1]
        default: throw fail("more than schema.table (quote a part that holds a dot)")
        }
        guard !schema.isEmpty, !name.isEmpty else { throw fail("an empty name part") }
    }

    /// Splits a comma-separated list of names, leaving commas inside quotes alone.
    public static func splitList(_ text: String) -> [String] {
        var out: [String] = [], current = "", quoted = false
        for c in text {
            if c == "\"" { quoted.toggle() }
            if c == "," && !quoted { out.append(current); current = ""; continue }
            current.append(c)
        }
        out.append(current)
        return out.filter { !$0.allSatisfy { $0 == " " } }
    }

    /// The part as PostgreSQL prints it: bare when it is a plain lower-case identifier, quoted otherwise.
    public static func display(_ part: String) -> String {
        let plain = part.first.map { $0 == "_" || ("a"..."z").contains($0) } ?? false
            && part.allSatisfy { $0 == "_" || $0 == "$" || ("a"..."z").contains($0) || ("0"..."9").contains($0) }
        return plain ? part : sql(part)
    }

    /// A part always quoted, for SQL.
    public static func sql(_ part: String) -> String { "\"" + part.replacingQuotes() + "\"" }

    /// `schema.table`, quoted where needed: the archive's key for the table, and how output names it.
    public var description: String { "\(Self.display(schema)).\(Self.display(name))" }
    /// `"schema"."table"` for SQL.
    public var quoted: String { "\(Self.sql(schema)).\(Self.sql(name))" }
}

extension String {
    fileprivate func trimmingSpaces() -> Substring {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\n" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\n" { s = s.dropLast() }
        return s
    }
    fileprivate func replacingQuotes() -> String {
        var out = ""
        for c in self { if c == "\"" { out += "\"\"" } else { out.append(c) } }
        return out
    }
}
