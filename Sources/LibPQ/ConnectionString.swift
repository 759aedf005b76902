/// Helpers for connection strings as libpq takes them (`key=value …` or `postgresql://` URIs).
public enum ConnectionString {
    /// The connection string with any password replaced by `****`, safe to print.
    public static func redacted(_ conninfo: String) -> String {
        var s = conninfo
        // URI form: postgresql://user:password@host
        if let schemeEnd = s.range(of: "://") {
            let rest = s[schemeEnd.upperBound...]
            if let at = rest.firstIndex(of: "@") {
                let userinfo = rest[rest.startIndex..<at]
                if let colon = userinfo.firstIndex(of: ":") {
                    s.replaceSubrange(s.index(after: colon)..<at, with: "****")
                }
            }
        }
        // key=value form and URI query parameters: password=…
        var out = ""
        var i = s.startIndex
        while i < s.endIndex {
            if s[i...].lowercased().hasPrefix("password") {
                var j = s.index(i, offsetBy: 8)
                while j < s.endIndex, s[j] == " " { j = s.index(after: j) }
                if j < s.endIndex, s[j] == "=" {
                    out += "password="
                    j = s.index(after: j)
                    while j < s.endIndex, s[j] == " " { j = s.index(after: j) }
                    if j < s.endIndex, s[j] == "'" {
                        j = s.index(after: j)
                        while j < s.endIndex, s[j] != "'" { if s[j] == "\\" { j = s.index(after: j) }; if j < s.endIndex { j = s.index(after: j) } }
                        if j < s.endIndex { j = s.index(after: j) }
                    } else {
                        while j < s.endIndex, s[j] != " ", s[j] != "&" { j = s.index(after: j) }
                    }
                    out += "****"
                    i = j
                    continue
                }
            }
            out.append(s[i])
            i = s.index(after: i)
        }
        return out
    }

    /// Whether the string names a password inline.
    public static func containsPassword(_ conninfo: String) -> Bool { redacted(conninfo) != conninfo }
}

import CLibPQ

extension ConnectionString {
    /// The password a connection string names (parsed by libpq itself), if any.
    public static func password(in conninfo: String) -> String? {
        var err: UnsafeMutablePointer<CChar>?
        guard let opts = PQconninfoParse(conninfo, &err) else {
            if let err { PQfreemem(err) }
            return nil
        }
        defer { PQconninfoFree(opts) }
        var p = opts
        while let kw = p.pointee.keyword {
            if String(cString: kw) == "password", let v = p.pointee.val { return String(cString: v) }
            p += 1
        }
        return nil
    }

    /// `message` with every occurrence of the connection string's password (and the string
    /// itself) replaced, so that nothing secret reaches a log line or an error.
    public static func scrub(_ message: String, conninfo: String) -> String {
        var m = message.replacingOccurrences(of: conninfo, with: redacted(conninfo))
        if let pw = password(in: conninfo), pw.count >= 1 { m = m.replacingOccurrences(of: pw, with: "****") }
        return m
    }

    /// `conninfo` with libpq's `target_session_attrs` set to `attrs` (`standby`, `read-write`): in
    /// key=value form the last setting wins, in a URI it is one more parameter.
    public static func targeting(_ conninfo: String, _ attrs: String) -> String {
        if conninfo.hasPrefix("postgres://") || conninfo.hasPrefix("postgresql://") {
            return conninfo + (conninfo.contains("?") ? "&" : "?") + "target_session_attrs=\(attrs)"
        }
        return conninfo + " target_session_attrs=\(attrs)"
    }
}
