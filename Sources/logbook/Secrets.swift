import ArgumentParser
import Foundation
import LibPQ

/// Keeps connection-string passwords out of `ps`, logs and errors.
enum Secrets {
    /// Overwrites, in the process's own argv memory, any password inside an argument, so that
    /// `ps` and `/proc/PID/cmdline` show `****` after the first instant of the process's life.
    /// (Prefer PGPASSWORD, ~/.pgpass, or LOGBOOK_SOURCE, which never reach argv at all.)
    static func scrubPasswordsFromArguments() {
        let argc = Int(CommandLine.argc)
        for i in 1..<max(argc, 1) {
            guard let p = CommandLine.unsafeArgv[i] else { continue }
            let arg = String(cString: p)
            guard let pw = ConnectionString.password(in: arg.hasPrefix("--") ? String(arg.drop(while: { $0 != "=" }).dropFirst()) : arg),
                  !pw.isEmpty, let range = arg.range(of: pw), let at = range.lowerBound.samePosition(in: arg.utf8) else { continue }
            let start = arg.utf8.distance(from: arg.utf8.startIndex, to: at)
            let count = pw.utf8.count
            for j in 0..<count { p[start + j] = CChar(UInt8(ascii: "*")) }
        }
    }

    /// The source connection string: the flag, else `LOGBOOK_SOURCE`, else libpq's own defaults
    /// (PGHOST, PGDATABASE, … and ~/.pgpass).
    static func source(_ flag: String?) -> String {
        if let flag, !flag.isEmpty { return flag }
        if let env = ProcessInfo.processInfo.environment["LOGBOOK_SOURCE"], !env.isEmpty { return env }
        return ""
    }
}
