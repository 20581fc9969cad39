/// The claims an SSO token carries. Times are seconds since 1970 (NumericDate).
public struct JWTClaims: Codable, Equatable, Sendable {
    /// Issuer: the accounts base URL.
    public var iss: String
    /// Audience: the SSO realm (`audience` in the config) and the one origin the token is for: the accounts host's for
    /// its own cookie, an app host's for the token `copyCookie` minted for it. A host accepts only tokens naming both
    /// the realm and itself. Always written as a JSON array; a single string is read too (RFC 7519 §4.1.3).
    public var aud: [String]
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

    public init(iss: String, aud: [String], sub: String, jti: String, iat: Int64, nbf: Int64, exp: Int64,
                svc: [String], name: String, email: String) {
        self.iss = iss; self.aud = aud; self.sub = sub; self.jti = jti
        self.iat = iat; self.nbf = nbf; self.exp = exp
        self.svc = svc; self.name = name; self.email = email
    }

    private enum CodingKeys: String, CodingKey { case iss, aud, sub, jti, iat, nbf, exp, svc, name, email }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        iss = try c.decode(String.self, forKey: .iss)
        if let one = try? c.decode(String.self, forKey: .aud) { aud = [one] } else { aud = try c.decode([String].self, forKey: .aud) }
        sub = try c.decode(String.self, forKey: .sub)
        jti = try c.decode(String.self, forKey: .jti)
        iat = try c.decode(Int64.self, forKey: .iat)
        nbf = try c.decode(Int64.self, forKey: .nbf)
        exp = try c.decode(Int64.self, forKey: .exp)
        svc = try c.decode([String].self, forKey: .svc)
        name = try c.decode(String.self, forKey: .name)
        email = try c.decode(String.self, forKey: .email)
    }

    /// The same sign-in for another audience: what `copyCookie` hands to an app host.
    public func addressed(to origin: String, realm: String, now: Int64) -> JWTClaims {
        var copy = self
        copy.aud = [realm, origin]
        copy.iat = now
        copy.nbf = now
        return copy
    }
}
