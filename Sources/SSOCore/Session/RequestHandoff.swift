import SSOCrypto

/// A one-time hand-off from accounts to an app host (step 5 to step 6): the token minted for that host, the only origin
/// that may redeem it, and the browser that may: the digest of the state the app host set as a cookie when it sent that
/// browser to sign in (the OAuth `state` pattern).
public struct RequestHandoff: Codable, Equatable, Sendable {
    /// The signed token the app host turns into its cookie (its `aud` names that host).
    public var jwt: String
    /// The only origin that may redeem it, serialized (`https://host[:port]`).
    public var origin: String
    /// SHA-256 (hex) of the state cookie's value; nil in a record made without one, which no browser can redeem.
    public var stateDigest: String?

    public init(jwt: String, origin: String, state: String?) {
        self.jwt = jwt
        self.origin = origin
        self.stateDigest = state.map(Self.digest)
    }

    /// True when `cookie` is the state this hand-off was issued for (compared in constant time).
    public func belongs(toState cookie: String?) -> Bool {
        guard let stateDigest, let cookie, HandoffState.isWellFormed(cookie) else { return false }
        return Digest.constantTimeEqual(Array(stateDigest.utf8), Array(Self.digest(cookie).utf8))
    }

    static func digest(_ state: String) -> String { Digest.sha256Hex(Array(state.utf8)) }
}

/// The state value that binds a sign-in to a browser: random, base64url, carried as `state` through noCookie, the
/// sign-in form and copyCookie, and kept by the app host in a host-only cookie.
public enum HandoffState {
    /// A new state: 32 bytes from the CSPRNG.
    public static func make() throws -> String { try SecureRandom.token() }

    /// True for what `make` produces (and nothing longer): 16 to 64 base64url characters.
    public static func isWellFormed(_ text: String) -> Bool {
        (16...64).contains(text.utf8.count) && text.utf8.allSatisfy {
            ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2D || $0 == 0x5F
        }
    }
}
