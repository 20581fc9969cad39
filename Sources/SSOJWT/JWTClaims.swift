/// The claims an SSO token carries. Times are seconds since 1970 (NumericDate).
public struct JWTClaims: Codable, Equatable, Sendable {
    /// Issuer: the accounts base URL.
    public var iss: String
    /// Audience: the SSO realm name every app host checks.
    public var aud: String
    /// Subject: the user name.
    public var sub: String
    /// TokenID: the memcached key of the `JWTSession`.
    public var jti: String
    /// Issued at.
    public var iat: Int64
    /// Not before.
    public var nbf: Int64
    /// Absolute expiry of the sign-in.
    public var exp: Int64
    /// The services (registry names) the user is registered for, fixed at sign-in.
    public var svc: [String]
    /// Display name, for `X-Remote-Name`.
    public var name: String
    /// E-mail, for `X-Remote-Email`.
    public var email: String

    public init(iss: String, aud: String, sub: String, jti: String, iat: Int64, nbf: Int64, exp: Int64,
                svc: [String], name: String, email: String) {
        self.iss = iss; self.aud = aud; self.sub = sub; self.jti = jti
        self.iat = iat; self.nbf = nbf; self.exp = exp
        self.svc = svc; self.name = name; self.email = email
    }
}
