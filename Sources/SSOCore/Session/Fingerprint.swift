import FastCGI
import SSOCrypto

/// FINGERPRINT: what binds a session to the browser that signed in. The SHA-256 of the `User-Agent`, hex, first 32
/// characters: stable across every host of the SSO, so the same browser passes on every domain, and a cookie
/// replayed from another client fails.
public enum Fingerprint {
    /// The fingerprint of `request`.
    public static func of(_ request: HTTPRequest) -> String {
        String(Digest.sha256Hex(Array((request.header("User-Agent") ?? "").utf8)).prefix(32))
    }
}
