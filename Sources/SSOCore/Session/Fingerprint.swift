import FastCGI
import SSOCrypto
import SSOSync

/// FINGERPRINT: what binds a session to the browser that signed in. The SHA-256 of the `User-Agent`, hex, first 32
/// characters: stable across every host of the SSO, so the same browser passes on every domain, and a cookie
/// replayed from another client fails.
public enum Fingerprint {
    /// The fingerprint of `request`.
    public static func of(_ request: HTTPRequest) -> String {
        of(userAgent: request.header("User-Agent") ?? "")
    }

    /// The fingerprint of a `User-Agent` value: from `recent` when the same value was seen lately (the exact string,
    /// compared whole), computed otherwise. A check hashed the same few browsers' values over and over. Every check looks
    /// here from every worker thread at once: lookups share a read lock (`ReadMostly`).
    public static func of(userAgent: String) -> String {
        if let known = recent.read({ $0[userAgent] }) { return known }
        let value = compute(userAgent)
        if userAgent.utf8.count <= maxRememberedLength {
            recent.write { memo in
                if memo.count >= capacity { memo.removeAll(keepingCapacity: true) }
                memo[userAgent] = value
            }
        }
        return value
    }

    /// The definition itself, without the memo.
    static func compute(_ userAgent: String) -> String {
        String(Digest.hex(Digest.sha256(userAgent)).prefix(32))
    }

    /// Most `User-Agent` values remembered. Default: 1,024 (at most about 0.7 MB); when full it starts again empty.
    static let capacity = 1_024
    /// Longest `User-Agent` value remembered, in bytes. Default: 512; longer ones are hashed on every check.
    static let maxRememberedLength = 512
    private static let recent = ReadMostly<[String: String]>([:])
}
