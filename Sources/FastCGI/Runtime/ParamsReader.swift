/// Collects libfcgi's `NAME=VALUE` params into the dictionary an `HTTPRequest` holds.
///
/// - A header the client sent on several lines reaches us as the same `HTTP_*` param several times (nginx passes each
///   line): the values are joined as the web server would join the lines, `; ` for `Cookie` (RFC 6265) and `, ` for
///   any other header (RFC 9110, 5.3; nginx 1.23+ joins its `$http_*` variables the same way), so the result never
///   depends on which line came last. Any other param repeated keeps its last value, as PHP-FPM does: that is a
///   `fastcgi_param` set twice in the web server's config, the later one overriding. `HTTP_HOST` is one of those:
///   Debian's `fastcgi_params` sets it to `$host` and our snippet to `$http_host` after it (nginx refuses a request
///   with two `Host` lines, so it never comes twice from the client).
/// - A value that is not UTF-8 is kept as bytes too (`raw`), so it can be passed on unchanged (a kept request's
///   headers); the `String` value has U+FFFD in its place, and outside data never traps.
struct ParamsReader {
    private(set) var values: [String: String] = [:]
    /// The exact bytes of every value that is not valid UTF-8 (usually none).
    private(set) var raw: [String: [UInt8]] = [:]
    private var total = 0

    init() {
        values.reserveCapacity(48)  // nginx sends about 30: no rehashing while the dictionary grows
    }

    /// Sets `FCGI_ROLE` from the BEGIN_REQUEST record's role (1 RESPONDER, 2 AUTHORIZER, 3 FILTER), over any
    /// `FCGI_ROLE` param the sender added: which role a request has is the record's to say, not a name-value pair's.
    mutating func setRole(_ role: Int32) {
        values["FCGI_ROLE"] = role == 2 ? "AUTHORIZER" : role == 3 ? "FILTER" : "RESPONDER"
        raw["FCGI_ROLE"] = nil
    }

    /// Adds one `NAME=VALUE` entry; false once the params together exceed `FastCGIExchange.maxParamBytes`.
    mutating func add(_ entry: UnsafeBufferPointer<UInt8>) -> Bool {
        total += entry.count
        guard total <= FastCGIExchange.maxParamBytes else { return false }
        guard let eq = entry.firstIndex(of: UInt8(ascii: "=")) else { return true }
        let name = String(decoding: UnsafeBufferPointer(rebasing: entry[..<eq]), as: UTF8.self)
        let bytes = UnsafeBufferPointer(rebasing: entry[(eq + 1)...])
        var value: String
        var valueRaw: [UInt8]? = nil
        // ASCII (nearly every param) needs no validation: the generic validator looked up type metadata on every call.
        if Self.isASCII(bytes) {
            value = String(decoding: bytes, as: UTF8.self)
        } else if let valid = String(validating: bytes, as: UTF8.self) {
            value = valid
        } else {
            value = String(decoding: bytes, as: UTF8.self)
            valueRaw = Array(bytes)
        }
        if let earlier = values.updateValue(value, forKey: name), name.utf8.starts(with: "HTTP_".utf8), name != "HTTP_HOST" {
            let separator = name == "HTTP_COOKIE" ? "; " : ", "
            value = earlier + separator + value
            values[name] = value
            if valueRaw != nil || raw[name] != nil {
                valueRaw = (raw[name] ?? Array(earlier.utf8)) + Array(separator.utf8) + (valueRaw ?? Array(bytes))
            }
        }
        if let valueRaw { raw[name] = valueRaw } else if !raw.isEmpty { raw[name] = nil }
        return true
    }

    /// True when no byte has its high bit set; eight bytes at a time.
    static func isASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let raw = UnsafeRawPointer(base)
        var i = 0
        while i + 8 <= bytes.count {
            if raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 != 0 { return false }
            i += 8
        }
        while i < bytes.count {
            if base[i] >= 0x80 { return false }
            i += 1
        }
        return true
    }
}

