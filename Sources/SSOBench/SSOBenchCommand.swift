import ArgumentParser
import Foundation
import FastCGI
import SSOCore
import SSOCrypto
import SSOJWT
import SSOStore

/// A tool for scripts/bench: mints signed-in sessions straight into memcached (no password-hash cost, no HTTP), so the
/// auth check can be measured with many distinct sessions. It needs the accounts signing key: never ship it to app hosts.
@main
struct SSOBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "SSOBench", abstract: "Benchmark helper: mint N sessions and print their JWTs, one per line.")

    @Option(help: "The SSO config file (with the accounts signing key).") var config: String
    @Option(help: "How many sessions.") var count = 1
    @Option(help: "The user the sessions belong to (must be in the users file).") var user = "alice"
    @Option(help: "The User-Agent the requests will send (the session fingerprint).") var userAgent: String
    @Option(help: "The app origin the tokens are for (each host accepts only its own). Default: the user's first service's.")
    var origin: String?

    func run() throws {
        let cfg = try ConfigLoader.load(path: config)
        let keys = try KeyLoader.load(cfg, side: .accounts)
        let users = try UsersFileLoader.load(path: cfg.usersFile, registry: cfg.registry)
        guard let u = users.user(user) else { throw ValidationError("no user \(user) in \(cfg.usersFile)") }
        let codec = JWTCodec(keys: keys, issuer: cfg.accountsURL.serialized, audience: cfg.audience)
        let store = SessionStore(kv: try StoreFactory(cfg.memcached).make(), prefix: cfg.keyPrefix)
        let fingerprint = Fingerprint.of(HTTPRequest(params: ["HTTP_USER_AGENT": userAgent]))
        let now = Int64(Date().timeIntervalSince1970)
        let timeout = cfg.registry.sessionTimeout(for: u.services, fallback: cfg.defaultIdleTimeout)
        guard let host = origin ?? u.services.first.flatMap({ cfg.registry.service(named: $0)?.origins.first?.serialized }) else {
            throw ValidationError("no origin: pass --origin")
        }
        var out = ""
        for i in 0..<count {
            let tokenID = try SecureRandom.token()
            // Last accesses spread evenly over the past last-access interval, as real users' are: minted all at once,
            // every session's throttled LAST_ACCESSED_TIME write would fall due in the same second.
            let lastAccess = now - Int64(i) * cfg.lastAccessInterval / Int64(max(1, count))
            let session = JWTSession(user: u.username, lastAccessedTime: lastAccess, sessionTimeout: timeout, fingerprint: fingerprint,
                                     created: now, expiresAt: now + cfg.sessionLifetime)
            try store.put(session, tokenID: tokenID, now: now)
            out += try codec.sign(JWTClaims(iss: cfg.accountsURL.serialized, aud: [cfg.audience, host], sub: u.username, jti: tokenID,
                                            iat: now, nbf: now, exp: session.expiresAt, svc: u.services, name: u.name, email: u.email))
            out += "\n"
        }
        FileHandle.standardOutput.write(Data(out.utf8))
    }
}
