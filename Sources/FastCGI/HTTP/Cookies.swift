import Glibc

/// Reading the `Cookie` header and writing `Set-Cookie`.
public enum Cookies {
    /// Longest `Cookie` header parsed, in bytes. Default: 16,384; beyond it no cookie is read.
    public static let maxHeaderLength = 16_384

    /// Parses `a=1; b=2`. Malformed pairs are skipped; quotes around a value are removed. Strict where a browser is:
    /// - only ';' separates pairs: browsers keep a ',' inside a value, so `x=1,__Host-sso=…` (a cookie any sibling
    ///   subdomain may set) is the one cookie `x`, never a `__Host-` cookie the browser does not have. Two Cookie lines
    ///   that Apache joined with ", " therefore read as one longer value (RFC 6265 lets a client send one line); nginx
    ///   passes each line as its own param, which `FastCGIParams` joins with "; ".
    /// - a name is exactly the bytes before '=' (after the spaces that follow a ';'): `sso =…` is not `sso`, as the web
    ///   servers' rules that remove the SSO's cookies before the app would not see it as `sso` either.
    /// - a name sent twice is not read at all: a host holds one `__Host-` cookie of a name, so a second one was tossed
    ///   in from elsewhere, and neither copy can be trusted to be the browser's own (a sign-in is asked for instead).
    /// Works on UTF-8 bytes: a Cookie header holds a long JWT, and Character-by-Character parsing was the auth check's
    /// largest cost.
    public static func parse(_ header: String) -> [String: String] {
        var out: [String: String] = [:]
        var repeated: Set<String> = []
        forEachPair(in: header) { name, value in
            if out[name] == nil && !repeated.contains(name) { out[name] = value } else { out[name] = nil; repeated.insert(name) }
            return true
        }
        return out
    }

    /// The value of the one cookie called `name` (nil when absent or sent twice), without building a dictionary (the
    /// auth check's hot path).
    public static func value(named name: String, in header: String) -> String? {
        var found: String? = nil
        var seen = false
        let wanted = Array(name.utf8)
        forEachPairBytes(in: header) { n, v in
            guard n.elementsEqual(wanted) else { return true }
            guard !seen else { found = nil; return false }
            seen = true
            found = String(decoding: v, as: UTF8.self)
            return true
        }
        return found
    }

    /// The values of the cookies called `first` and `second` (each nil when absent or sent twice), in one pass over
    /// the header. Names are compared as bytes (exactly, as `==` on two cookie names' Strings would, for the ASCII
    /// names cookies have); a `String` is made only for the values asked for, not for every cookie the browser sends.
    public static func values(named first: String, _ second: String, in header: String) -> (String?, String?) {
        var a: String? = nil, b: String? = nil
        var seenA = false, seenB = false
        let firstName = Array(first.utf8), secondName = Array(second.utf8)
        forEachPairBytes(in: header) { n, v in
            if n.elementsEqual(firstName) {
                a = seenA ? nil : String(decoding: v, as: UTF8.self)
                seenA = true
            } else if n.elementsEqual(secondName) {
                b = seenB ? nil : String(decoding: v, as: UTF8.self)
                seenB = true
            }
            return true
        }
        return (a, b)
    }

    /// Calls `body(name, value)` for each well-formed pair until it returns false.
    static func forEachPair(in header: String, _ body: (String, String) -> Bool) {
        forEachPairBytes(in: header) { n, v in body(String(decoding: n, as: UTF8.self), String(decoding: v, as: UTF8.self)) }
    }

    /// `forEachPair` on the pairs' bytes, valid only during the call.
    static func forEachPairBytes(in header: String, _ body: (UnsafeBufferPointer<UInt8>, UnsafeBufferPointer<UInt8>) -> Bool) {
        var header = header
        header.withUTF8 { bytes in
            guard bytes.count <= maxHeaderLength else { return }
            var i = 0
            let n = bytes.count
            while i < n {
                // ';' between pairs, and nothing else (see `parse`). memchr: the header is mostly one long JWT.
                let end = Self.separator(in: bytes, from: i)
                var a = i, b = end
                while a < b && (bytes[a] == 0x20 || bytes[a] == 0x09) { a += 1 }
                while b > a && (bytes[b - 1] == 0x20 || bytes[b - 1] == 0x09) { b -= 1 }
                var eq = a
                while eq < b && bytes[eq] != 0x3D { eq += 1 }          // '='
                if eq < b {
                    let ne = eq  // no space before '=' is trimmed (see `parse`)
                    var vs = eq + 1, ve = b
                    while vs < ve && (bytes[vs] == 0x20 || bytes[vs] == 0x09) { vs += 1 }
                    if ve - vs >= 2 && bytes[vs] == 0x22 && bytes[ve - 1] == 0x22 { vs += 1; ve -= 1 }
                    if ne > a {
                        if !body(UnsafeBufferPointer(rebasing: bytes[a..<ne]), UnsafeBufferPointer(rebasing: bytes[vs..<ve])) { return }
                    }
                }
                i = end + 1
            }
        }
    }

    /// The index of the first `;` at or after `start`, or `bytes.count`.
    private static func separator(in bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        guard let base = bytes.baseAddress, start < bytes.count else { return bytes.count }
        let from = UnsafeRawPointer(base + start)
        let length = bytes.count - start
        guard let semicolon = memchr(from, 0x3B, length) else { return bytes.count }
        return start + from.distance(to: UnsafeRawPointer(semicolon))
    }

    /// A host-only `Set-Cookie` value: `Path=/`, `Secure`, `HttpOnly`, `SameSite` (default Lax), no `Domain`.
    /// `maxAge` nil makes a session cookie; 0 deletes the cookie.
    public static func setCookie(name: String, value: String, maxAge: Int? = nil, secure: Bool = true,
                                 sameSite: String = "Lax", httpOnly: Bool = true) -> String {
        var parts = ["\(name)=\(value)", "Path=/"]
        if let maxAge {
            parts.append("Max-Age=\(maxAge)")
            if maxAge == 0 { parts.append("Expires=Thu, 01 Jan 1970 00:00:00 GMT") }
        }
        if secure { parts.append("Secure") }
        if httpOnly { parts.append("HttpOnly") }
        parts.append("SameSite=\(sameSite)")
        return parts.joined(separator: "; ")
    }
}

extension Substring {
    /// The text without leading and trailing spaces and tabs.
    public var trimmingSpaces: String {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
