import COpenSSL

/// Bytes from OpenSSL's CSPRNG (`RAND_bytes`).
public enum SecureRandom {
    /// Returns `count` random bytes; throws when the CSPRNG is not seeded (never falls back to a weaker source).
    public static func bytes(_ count: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        guard count == 0 || RAND_bytes(&out, Int32(count)) == 1 else {
            throw CryptoError("RAND_bytes", reason: drainOpenSSLErrors())
        }
        return out
    }

    /// A random token of `byteCount` bytes (default 32), base64url without padding: for CSRF tokens and cache keys.
    public static func token(byteCount: Int = 32) throws -> String {
        Base64URL.encode(try bytes(byteCount))
    }

    /// True when `text` has the form `token(byteCount:)` gives (the base64url of exactly that many bytes): how a value
    /// read back from a cookie is known to be one of ours before it is used.
    public static func isToken(_ text: String, byteCount: Int = 32) -> Bool {
        text.utf8.count == (byteCount * 4 + 2) / 3 && Base64URL.decode(text)?.count == byteCount
    }

    /// An RFC 4122 version 4 UUID, lower-case with hyphens, from the CSPRNG: the `requestID` format.
    public static func uuidV4() throws -> String {
        var b = try bytes(16)
        b[6] = (b[6] & 0x0F) | 0x40
        b[8] = (b[8] & 0x3F) | 0x80
        let hex = b.map { byte -> String in
            let s = String(byte, radix: 16)
            return s.count == 1 ? "0" + s : s
        }.joined()
        let c = Array(hex)
        return String(c[0..<8]) + "-" + String(c[8..<12]) + "-" + String(c[12..<16]) + "-"
            + String(c[16..<20]) + "-" + String(c[20..<32])
    }
}
