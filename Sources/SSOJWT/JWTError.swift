/// Why a token was refused or could not be made. Never carries the token itself.
public struct JWTError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The reason, stable enough for logs and tests.
    public enum Reason: Equatable, Sendable {
        case malformed(String)
        case unknownKID(String)
        case algorithmMismatch(header: String, key: String)
        case badSignature
        case expired
        case notYetValid
        case wrongIssuer
        case wrongAudience
        case missingClaim(String)
        case cannotSign(String)
    }

    public let reason: Reason
    public init(_ reason: Reason) { self.reason = reason }

    public var description: String {
        switch reason {
        case .malformed(let what): return "jwt: malformed token (\(what))"
        case .unknownKID(let kid): return "jwt: unknown kid \"\(kid.prefix(64))\""
        case .algorithmMismatch(let header, let key): return "jwt: header alg \"\(header.prefix(16))\" does not match key alg \(key)"
        case .badSignature: return "jwt: bad signature"
        case .expired: return "jwt: expired"
        case .notYetValid: return "jwt: not yet valid"
        case .wrongIssuer: return "jwt: wrong issuer"
        case .wrongAudience: return "jwt: wrong audience"
        case .missingClaim(let name): return "jwt: missing claim \(name)"
        case .cannotSign(let why): return "jwt: cannot sign: \(why)"
        }
    }
}
