import FastCGI

extension HTTPResponse {
    /// A small JSON error body for API clients: `{"error": code, "message": …}`, uncacheable.
    public static func jsonError(_ status: HTTPStatus, code: String, message: String, extra: [(String, String)] = []) -> HTTPResponse {
        var fields = "\"error\":\(JSONString.quote(code)),\"message\":\(JSONString.quote(message))"
        for (k, v) in extra { fields += ",\(JSONString.quote(k)):\(JSONString.quote(v))" }
        return HTTPResponse(status: status, body: Array("{\(fields)}\n".utf8))
            .adding(.contentType, "application/json")
            .adding(.cacheControl, "no-store")
    }
}

/// JSON string quoting without Foundation, for the few hand-made JSON bodies.
public enum JSONString {
    /// `text` as a JSON string literal with quotes; `<`, `>` and `&` escaped so it is safe inside HTML too, and the
    /// characters YAML reads as line breaks (U+0085, U+2028, U+2029) and DEL escaped, so a quoted name written into
    /// the users file (`ssoctl users add`) stays on its line and the file stays one ssoctl can edit.
    public static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "<": out += "\\u003c"
            case ">": out += "\\u003e"
            case "&": out += "\\u0026"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F || scalar.value == 0x85 || scalar.value == 0x2028 || scalar.value == 0x2029 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
