import SSOCrypto

/// Keys by `kid`: sign with the current one, verify with any listed one, so keys rotate without logging anyone out.
public struct JWTKeySet: Sendable {
    /// Every key, by kid.
    public let keys: [String: JWTKey]
    /// The kid new tokens are signed with; nil on app hosts, which only verify.
    public let signingKID: String?

    /// Throws when `signingKID` is set but names no key that can sign.
    public init(keys: [JWTKey], signingKID: String? = nil) throws {
        var byKID: [String: JWTKey] = [:]
        for key in keys { byKID[key.kid] = key }
        if let signingKID {
            guard let key = byKID[signingKID], key.canSign else {
                throw JWTError(.cannotSign("signing kid \(signingKID) is not a private key or secret"))
            }
        }
        self.keys = byKID
        self.signingKID = signingKID
    }
}
