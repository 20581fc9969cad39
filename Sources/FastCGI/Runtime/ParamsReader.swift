import Glibc

/// Collects libfcgi's `NAME=VALUE` params into the `FastCGIParams` an `HTTPRequest` holds, each entry's bytes as they
/// came; what a repeated param reads as is decided when it is read:
///
/// - A header the client sent on several lines reaches us as the same `HTTP_*` param several times (nginx passes each
///   line): the values are joined as the web server would join the lines, `; ` for `Cookie` (RFC 6265) and `, ` for
///   any other header (RFC 9110, 5.3; nginx 1.23+ joins its `$http_*` variables the same way), so the result never
///   depends on which line came last. Any other param repeated keeps its last value, as PHP-FPM does: that is a
///   `fastcgi_param` set twice in the web server's config, the later one overriding. `HTTP_HOST` is one of those:
///   Debian's `fastcgi_params` sets it to `$host` and our snippet to `$http_host` after it (nginx refuses a request
///   with two `Host` lines, so it never comes twice from the client).
/// - A value that is not UTF-8 is kept as bytes (`FastCGIParams.rawValue`), so it can be passed on unchanged (a kept
///   request's headers); read as a `String` it has U+FFFD in its place, and outside data never traps.
enum ParamsReader {
    /// The params libfcgi read (`envp`: `NAME=VALUE` strings, ended by a null pointer), copied once, with `FCGI_ROLE`
    /// from the BEGIN_REQUEST record's role (1 RESPONDER, 2 AUTHORIZER, 3 FILTER) over any `FCGI_ROLE` param the sender
    /// added: which role a request has is the record's to say, not a name-value pair's. Nil when the params together
    /// exceed `FastCGIExchange.maxParamBytes`.
    static func read(_ envp: UnsafePointer<UnsafeMutablePointer<CChar>?>, role: Int32) -> FastCGIParams? {
        FastCGIParams(copying: envp, limit: FastCGIExchange.maxParamBytes,
                      last: ("FCGI_ROLE", role == 2 ? "AUTHORIZER" : role == 3 ? "FILTER" : "RESPONDER"))
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

