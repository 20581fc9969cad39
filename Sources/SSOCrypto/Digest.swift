import COpenSSL

/// SHA-256 and HMAC-SHA-256 through libcrypto, and a constant-time comparison.
public enum Digest {
    /// SHA-256 fetched from the default provider once. `EVP_sha256()` is a legacy handle that `EVP_Digest` looks up
    /// in the provider on every call: that lookup cost more than hashing a whole token (callgrind, docs in BENCHMARKS.md).
    /// Nil only if the provider has no SHA-256, and then each call falls back to `EVP_sha256()`.
    nonisolated(unsafe) private static let fetchedSHA256: OpaquePointer? = EVP_MD_fetch(nil, "SHA2-256", nil)

    /// SHA-256 of `data` (32 bytes).
    public static func sha256(_ data: [UInt8]) -> [UInt8] {
        data.withUnsafeBytes { sha256(bytes: $0) }
    }

    /// SHA-256 of raw bytes (32 bytes).
    public static func sha256(bytes raw: UnsafeRawBufferPointer) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        _ = EVP_Digest(raw.baseAddress, raw.count, &out, &length, fetchedSHA256 ?? EVP_sha256(), nil)
        return out
    }

    /// SHA-256 of a string's UTF-8 bytes (read in place, not copied).
    public static func sha256(_ text: String) -> [UInt8] {
        var text = text
        return text.withUTF8 { sha256(bytes: UnsafeRawBufferPointer($0)) }
    }

    /// Lower-case hex of SHA-256: the echo apps' `body_sha256` format and the fingerprint format.
    public static func sha256Hex(_ data: [UInt8]) -> String { hex(sha256(data)) }

    /// HMAC-SHA-256 of `data` under `key` (32 bytes).
    public static func hmacSHA256(key: [UInt8], data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        key.withUnsafeBytes { k in
            data.withUnsafeBytes { d in
                _ = HMAC(EVP_sha256(), k.baseAddress, Int32(k.count), d.baseAddress?.assumingMemoryBound(to: UInt8.self),
                         d.count, &out, &length)
            }
        }
        return out
    }

    /// Compares two byte strings in time that depends only on their lengths (`CRYPTO_memcmp`).
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        if a.isEmpty { return true }
        return a.withUnsafeBytes { pa in b.withUnsafeBytes { pb in CRYPTO_memcmp(pa.baseAddress, pb.baseAddress, a.count) == 0 } }
    }

    /// Lower-case hexadecimal of `bytes`.
    public static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
