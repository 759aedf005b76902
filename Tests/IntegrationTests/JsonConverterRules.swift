import Foundation

/// What Kafka Connect's `JsonConverter` (schemas.enable=true) accepts, written from its source
/// (apache/kafka `connect/json/.../JsonConverter.java`: `toConnectData`, `asConnectSchema`,
/// `convertToConnect`, the logical converters) and `ConnectSchema.validateValue`, independently of
/// Logbook's code. `errors(message)` lists why a sink would reject a message (empty: accepted).
enum JsonConverterRules {
    static let types: Set<String> = ["boolean", "int8", "int16", "int32", "int64", "float", "double", "bytes", "string", "array", "map", "struct"]

    /// A message as it is on the topic (nil: a null record, which the converter passes as null).
    static func errors(_ message: String?) -> [String] {
        guard let message else { return [] }
        guard let obj = try? JSONSerialization.jsonObject(with: Data(message.utf8), options: [.fragmentsAllowed]) else { return ["not JSON"] }
        // "JsonConverter with schemas.enable requires "schema" and "payload" fields and may not contain additional fields."
        guard let env = obj as? [String: Any], env.count == 2, env.keys.contains("schema"), env.keys.contains("payload") else {
            return ["not an envelope of exactly schema and payload"]
        }
        var out: [String] = []
        if env["schema"] is NSNull { return [] }
        guard let schema = env["schema"] as? [String: Any] else { return ["schema is not an object"] }
        checkSchema(schema, "schema", &out)
        if out.isEmpty { checkValue(env["payload"], schema, "payload", &out) }
        return out
    }

    static func isInteger(_ v: Any) -> NSNumber? {
        guard let n = v as? NSNumber, !isBool(n) else { return nil }
        let d = n.doubleValue
        guard d.rounded() == d, "\(n)".allSatisfy({ $0.isNumber || $0 == "-" }) else { return nil }
        return n
    }

    static func isBool(_ n: NSNumber) -> Bool {
        // JSONSerialization's true/false: an NSNumber of a C char (a JSON number is never one).
        String(cString: n.objCType) == "c"
    }

    /// `asConnectSchema`: a type it knows, optional a boolean, a name and doc textual, an integral
    /// version, textual parameters, struct fields with a textual `field`, array items, map keys and
    /// values; a default converted like a value of the schema.
    static func checkSchema(_ s: [String: Any], _ path: String, _ out: inout [String]) {
        guard let type = s["type"] as? String else { out.append("\(path): schema without a textual type"); return }
        guard types.contains(type) else { out.append("\(path): Unknown schema type: \(type)"); return }
        if let o = s["optional"], !(o is NSNumber) { out.append("\(path): optional is not a boolean") }
        if let v = s["version"], isInteger(v) == nil { out.append("\(path): version is not integral") }
        if let p = s["parameters"] {
            guard let params = p as? [String: Any] else { out.append("\(path): parameters is not an object"); return }
            for (k, v) in params where !(v is String) { out.append("\(path): parameter \(k) is not a string (Schema parameters must have string values)") }
        }
        switch type {
        case "array":
            guard let items = s["items"] as? [String: Any] else { out.append("\(path): Array schema did not specify the element type"); return }
            checkSchema(items, "\(path).items", &out)
        case "map":
            guard let k = s["keys"] as? [String: Any] else { out.append("\(path): Map schema did not specify the key type"); return }
            guard let v = s["values"] as? [String: Any] else { out.append("\(path): Map schema did not specify the value type"); return }
            checkSchema(k, "\(path).keys", &out); checkSchema(v, "\(path).values", &out)
        case "struct":
            guard let fields = s["fields"] as? [[String: Any]] else { out.append("\(path): Struct schema's \"fields\" argument is not an array."); return }
            var names = Set<String>()
            for f in fields {
                guard let name = f["field"] as? String else { out.append("\(path): Struct schema's field name not specified properly"); continue }
                if !names.insert(name).inserted { out.append("\(path): duplicate field \(name)") }
                checkSchema(f, "\(path).\(name)", &out)
            }
        default: break
        }
        if s["name"] as? String == "org.apache.kafka.connect.data.Decimal" {
            // Decimal.toLogical reads the scale parameter as an integer.
            if Int((s["parameters"] as? [String: Any])?["scale"] as? String ?? "") == nil { out.append("\(path): Decimal without an integer scale parameter") }
        }
        if let d = s["default"], !(d is NSNull) {
            var copy = s
            copy["optional"] = false
            copy["default"] = nil
            checkValue(d, copy, "\(path).default", &out)
        }
    }

    /// `convertToConnect` and the Struct's validation: null only where optional (or a default
    /// replaces it), each type from the JSON node it needs.
    static func checkValue(_ v: Any?, _ s: [String: Any], _ path: String, _ out: inout [String]) {
        let type = s["type"] as? String ?? ""
        guard let v, !(v is NSNull) else {
            if s["default"] != nil && !(s["default"] is NSNull) { return }
            if s["optional"] as? Bool == true { return }
            out.append("\(path): Invalid null value for required \(type) field")
            return
        }
        func ranged(_ lo: Double, _ hi: Double) {
            guard let n = isInteger(v) else { out.append("\(path): \(v) is not an integer for \(type)"); return }
            if n.doubleValue < lo || n.doubleValue > hi { out.append("\(path): \(n) out of range for \(type)") }
        }
        switch s["name"] as? String {
        case "org.apache.kafka.connect.data.Decimal":
            if v is NSNumber && !isBool(v as! NSNumber) { return }
            guard let text = v as? String, Data(base64Encoded: text) != nil else { out.append("\(path): Invalid bytes for Decimal field"); return }
            return
        case "org.apache.kafka.connect.data.Date", "org.apache.kafka.connect.data.Time":
            // value.isInt(): an integer that fits an int32.
            guard let n = isInteger(v), n.doubleValue >= -2147483648, n.doubleValue <= 2147483647 else {
                out.append("\(path): underlying representation should be integer, was \(v)"); return
            }
            return
        case "org.apache.kafka.connect.data.Timestamp":
            guard isInteger(v) != nil else { out.append("\(path): underlying representation should be integral, was \(v)"); return }
            return
        default: break
        }
        switch type {
        case "boolean": if !((v as? NSNumber).map(isBool) ?? false) { out.append("\(path): \(v) is not a boolean") }
        case "int8": ranged(-128, 127)
        case "int16": ranged(-32768, 32767)
        case "int32": ranged(-2147483648, 2147483647)
        case "int64": ranged(-9.3e18, 9.3e18)
        case "float", "double":
            // A number; NaN and the infinities as Jackson writes them (quoted).
            if let n = v as? NSNumber, !isBool(n) { return }
            if let t = v as? String, ["NaN", "Infinity", "-Infinity"].contains(t) { return }
            out.append("\(path): \(v) is not a number")
        case "string": if !(v is String) { out.append("\(path): \(v) is not textual (textValue() would be null)") }
        case "bytes":
            guard let t = v as? String, Data(base64Encoded: t) != nil else { out.append("\(path): \(v) is not base64 (Invalid bytes field)"); return }
        case "array":
            guard let items = v as? [Any], let itemSchema = s["items"] as? [String: Any] else { out.append("\(path): not an array"); return }
            for (i, item) in items.enumerated() { checkValue(item, itemSchema, "\(path)[\(i)]", &out) }
        case "map":
            guard let keySchema = s["keys"] as? [String: Any], let valueSchema = s["values"] as? [String: Any] else { return }
            if keySchema["type"] as? String == "string" {
                guard let obj = v as? [String: Any] else { out.append("\(path): Maps with string fields should be encoded as JSON objects"); return }
                for (k, x) in obj { checkValue(x, valueSchema, "\(path)[\(k)]", &out) }
            } else {
                guard let pairs = v as? [[Any]], pairs.allSatisfy({ $0.count == 2 }) else { out.append("\(path): map entries are not pairs"); return }
                for p in pairs { checkValue(p[0], keySchema, "\(path).key", &out); checkValue(p[1], valueSchema, "\(path).value", &out) }
            }
        case "struct":
            guard let obj = v as? [String: Any] else { out.append("\(path): Structs should be encoded as JSON objects"); return }
            for f in s["fields"] as? [[String: Any]] ?? [] {
                let name = f["field"] as? String ?? ""
                checkValue(obj[name], f, "\(path).\(name)", &out)
            }
        default: out.append("\(path): Unknown schema type: \(type)")
        }
    }
}
