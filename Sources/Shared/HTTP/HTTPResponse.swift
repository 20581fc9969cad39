/// What a responder answers: status, headers (repeatable, e.g. several `Set-Cookie`) and body.
public struct HTTPResponse: Sendable, Equatable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public static func == (a: HTTPResponse, b: HTTPResponse) -> Bool {
        a.status == b.status && a.body == b.body && a.headers.elementsEqual(b.headers, by: { $0 == $1 })
    }

    /// The first value of a header by case-insensitive name.
    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// Every value of a header by case-insensitive name.
    public func headerValues(_ name: String) -> [String] {
        headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }

    /// Adds a header; a name or value containing CR, LF or NUL is refused (response splitting) by dropping the header.
    /// Scalars, not Characters: "\r\n" is one Character in Swift.
    public mutating func add(_ name: String, _ value: String) {
        let unsafe: (Unicode.Scalar) -> Bool = { $0 == "\r" || $0 == "\n" || $0 == "\0" }
        guard !name.unicodeScalars.contains(where: unsafe), !value.unicodeScalars.contains(where: unsafe) else { return }
        headers.append((name, value))
    }

    /// A copy with one more header.
    public func adding(_ name: String, _ value: String) -> HTTPResponse {
        var copy = self
        copy.add(name, value)
        return copy
    }

    /// A `302 Found` to `location`, uncacheable.
    public static func redirect(to location: String) -> HTTPResponse {
        HTTPResponse(status: 302).adding("Location", location).adding("Cache-Control", "no-store")
    }

    /// An empty answer with `status`: the auth check's yes (200) or no (401).
    public static func empty(_ status: Int) -> HTTPResponse { HTTPResponse(status: status) }

    /// A small JSON error body for API clients: `{"error": code, "message": …}`.
    public static func jsonError(_ status: Int, code: String, message: String, extra: [(String, String)] = []) -> HTTPResponse {
        var fields = "\"error\":\(JSONString.quote(code)),\"message\":\(JSONString.quote(message))"
        for (k, v) in extra { fields += ",\(JSONString.quote(k)):\(JSONString.quote(v))" }
        return HTTPResponse(status: status, body: Array("{\(fields)}\n".utf8))
            .adding("Content-Type", "application/json")
            .adding("Cache-Control", "no-store")
    }

    /// The reason phrase for the status line.
    public static func reason(_ status: Int) -> String {
        switch status {
        case 200: return "OK"
        case 204: return "No Content"
        case 302: return "Found"
        case 303: return "See Other"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 413: return "Content Too Large"
        case 429: return "Too Many Requests"
        case 500: return "Internal Server Error"
        case 503: return "Service Unavailable"
        default: return "Status"
        }
    }
}

/// JSON string quoting without Foundation, for the few hand-made JSON bodies.
public enum JSONString {
    /// `text` as a JSON string literal with quotes.
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
                if scalar.value < 0x20 {
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
