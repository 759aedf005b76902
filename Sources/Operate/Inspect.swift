import Archive
import Foundation
import PGWire

/// `logbook inspect SEGMENT`: one entry per transaction (LSN, commit time, xid, and per table
/// the operations and row counts), plus the segment's frames.
public struct SegmentInspection: Codable, Sendable {
    public struct Transaction: Codable, Sendable {
        public var commitLSN: String
        public var endLSN: String?
        public var commitTime: String
        public var xid: UInt32
        /// table → operation → rows
        public var operations: [String: [String: Int]]
        public var messages: [String]
    }
    public struct FrameInfo: Codable, Sendable {
        public var offset: Int
        public var kind: String
        public var storedBytes: Int
        public var rawBytes: Int
        public var lastEndLSN: String
    }
    public var path: String
    public var header: SegmentHeader?
    public var footer: SegmentFooter?
    public var frames: [FrameInfo]
    public var transactions: [Transaction]

    public static func inspect(path: String, key: ArchiveKey?) throws -> SegmentInspection {
        // Frames
        let fr = try FrameFileReader(path: path, key: key)
        var frames: [FrameInfo] = []
        while true {
            let f: Frame?
            do { f = try fr.next() } catch let p as FrameFileReader.Problem {
                if p.isTornTail && path.hasSuffix(".partial") { break }
                throw p.error
            }
            guard let f else { break }
            frames.append(FrameInfo(offset: f.offset, kind: "\(f.header.kind)", storedBytes: f.header.storedLength,
                                    rawBytes: f.header.rawLength, lastEndLSN: f.header.lastEndLSN.description))
        }
        // Transactions
        let cursor = ArchiveCursor(paths: [path], key: key)
        cursor.decodeRows = false // counted, not read
        var relations: [UInt32: String] = [:]
        var txns: [Transaction] = []
        var current: Transaction?
        while let ev = try cursor.next() {
            switch ev {
            case .relation(let r): relations[r.oid] = r.qualifiedName
            case .tableDefinition: break
            case .begin(let b):
                current = Transaction(commitLSN: b.finalLSN.description, endLSN: nil, commitTime: b.commitTime.description, xid: b.xid,
                                      operations: [:], messages: [])
            case .commit(let c):
                current?.endLSN = c.endLSN.description
                if let t = current { txns.append(t) }
                current = nil
            case .message(let m):
                txns.append(Transaction(commitLSN: m.lsn.description, endLSN: nil, commitTime: "", xid: 0, operations: [:],
                                        messages: ["\(m.prefix): \(String(decoding: m.content, as: UTF8.self))"]))
            case .rowChange(let v):
                let op: String
                switch v.kind { case .insert: op = "insert"; case .update: op = "update"; case .delete: op = "delete" }
                current?.operations[relations[v.relation] ?? "oid \(v.relation)", default: [:]][op, default: 0] += 1
            case .change(let msg, _):
                func count(_ oid: UInt32, _ op: String) {
                    current?.operations[relations[oid] ?? "oid \(oid)", default: [:]][op, default: 0] += 1
                }
                switch msg {
                case .truncate(let m): m.relations.forEach { count($0, "truncate") }
                case .message(let m): current?.messages.append("\(m.prefix): \(String(decoding: m.content, as: UTF8.self))")
                default: break
                }
            }
        }
        let reader = try SegmentReader(path: path, key: key)
        while try reader.nextRecord() != nil {}
        return SegmentInspection(path: path, header: reader.header, footer: reader.footer, frames: frames, transactions: txns)
    }

    /// Human-readable lines.
    public func render() -> String {
        var out = "segment \((path as NSString).lastPathComponent)"
        if let h = header { out += "  cluster \(h.systemIdentifier) db \(h.database) slot \(h.slot) first \(h.firstLSN)" }
        out += "\n"
        if let f = footer {
            out += "sealed: \(f.transactions) transactions, \(f.changes) changes, last \(f.last.map { "\($0.endLSN) at \($0.commitTime)" } ?? "-"), tables \(f.tables.joined(separator: ","))\n"
        } else {
            out += "open (not sealed)\n"
        }
        out += "frames:\n"
        for f in frames {
            out += "  @\(f.offset) \(f.kind) \(f.storedBytes) B stored / \(f.rawBytes) B raw\(f.lastEndLSN == "0/0" ? "" : ", through \(f.lastEndLSN)")\n"
        }
        out += "transactions:\n"
        for t in transactions {
            let ops = t.operations.sorted { $0.key < $1.key }.map { table, ops in
                table + " " + ops.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            }
            out += "  \(t.commitLSN) \(t.commitTime) xid \(t.xid)  \((ops + t.messages.map { "message \($0)" }).joined(separator: "; "))\n"
        }
        return out
    }
}
