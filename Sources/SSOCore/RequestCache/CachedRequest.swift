import SSOCrypto

/// A request kept across re-authentication (the WebSEAL seed): everything needed to rebuild it, bound to the browser and
/// user that made it. The body is stored beside it in parts.
public struct CachedRequest: Codable, Equatable, Sendable {
    /// `POST`, `PUT`, `PATCH` or `DELETE`.
    public var method: String
    /// Path and query exactly as the client sent them.
    public var uri: String
    /// The origin it was sent to, serialized.
    public var origin: String
    /// Original headers as [lower-case name, value] pairs, in order (only those `ReplayPolicy.isReplayed` names). A value
    /// that is not UTF-8 is kept as [name, base64url of its bytes, "b64"] (JSON holds only text), so it is replayed
    /// byte for byte: see `field(_:_:)` and `fields`.
    public var headers: [[String]]
    /// Body length in bytes.
    public var bodyLength: Int
    /// Lower-case hex SHA-256 of the body, checked when the parts are read back.
    public var bodySHA256: String
    /// The user of the expired session (from a JWT whose signature is valid); only that user can receive it.
    public var user: String?
    /// FINGERPRINT of the browser that sent it.
    public var fingerprint: String
    /// When it was kept, seconds since 1970.
    public var created: Int64
    /// Why the submission itself was not kept (too large, a type that cannot be replayed…); nil when it was.
    public var dropped: String?
    /// How many body parts are stored.
    public var parts: Int
    /// The client address it counts against (`ClientAddress.throttleKey`), so taking it frees its place in the limits.
    public var client: String?

    public init(method: String, uri: String, origin: String, headers: [[String]], bodyLength: Int, bodySHA256: String,
                user: String?, fingerprint: String, created: Int64, dropped: String?, parts: Int) {
        self.method = method; self.uri = uri; self.origin = origin; self.headers = headers
        self.bodyLength = bodyLength; self.bodySHA256 = bodySHA256; self.user = user; self.fingerprint = fingerprint
        self.created = created; self.dropped = dropped; self.parts = parts
    }

    /// One entry of `headers` for a header's exact bytes.
    public static func field(_ name: String, _ value: [UInt8]) -> [String] {
        if let text = String(validating: value, as: UTF8.self) { return [name, text] }
        return [name, Base64URL.encode(value), "b64"]
    }

    /// `headers` as (name, exact value bytes); an entry of any other shape is left out.
    public var fields: [(name: String, value: [UInt8])] {
        headers.compactMap { entry in
            if entry.count == 2 { return (entry[0], Array(entry[1].utf8)) }
            if entry.count == 3, entry[2] == "b64", let bytes = Base64URL.decode(entry[1]) { return (entry[0], bytes) }
            return nil
        }
    }
}
