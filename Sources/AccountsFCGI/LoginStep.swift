import FastCGI
import SSOCore
import SSOCrypto
import SSOJWT

/// Step 4's form and its POST: CSRF, throttle, credentials, then a new TokenID, `JWTSession` and JWT cookie.
struct LoginStep: AccountsStep {
    let host: AccountsHost

    /// `GET /login`: the plain form, or on to `copyCookie` when a `redirectURL` is given.
    func page(_ request: HTTPRequest) throws -> HTTPResponse {
        let text = request.query["redirectURL"] ?? ""
        if text.isEmpty { return try host.form(target: nil, service: nil, status: .ok, message: nil) }
        guard let target = host.redirectTarget(text) else { return host.badRedirect() }
        return .redirect(to: host.copyCookieURL(target, state: host.state(request.query["state"])))
    }

    /// `POST /login`.
    func respond(to request: HTTPRequest, context: RequestContext) throws -> HTTPResponse {
        let config = host.config
        let store = host.gate.store(context)
        let fields = FormFields(body: request.body)
        let targetText = fields["redirectURL"] ?? ""
        var target: RedirectTarget? = nil
        if !targetText.isEmpty {
            guard let t = host.redirectTarget(targetText) else { return host.badRedirect() }
            target = t
        }
        let service = target.flatMap { config.registry.service(at: $0.origin) }
        let state = host.state(fields["state"])
        let username = fields["username"] ?? ""
        let password = fields["password"] ?? ""

        let csrfCookie = request.cookie(config.csrfCookieName) ?? ""
        let csrfField = fields["csrf"] ?? ""
        guard !csrfCookie.isEmpty, Digest.constantTimeEqual(Array(csrfCookie.utf8), Array(csrfField.utf8)) else {
            context.logger.notice("sign-in refused: expired or forged form", metadata: ["remote": "\(request.remoteAddress)"])
            return try host.form(target: target, service: service, state: state, username: username, status: .forbidden,
                                 message: "This sign-in page expired. Please enter your password again.")
        }
        guard !username.isEmpty, !password.isEmpty else {
            return try host.form(target: target, service: service, state: state, username: username, status: .badRequest,
                                 message: "Enter your user name and your password.")
        }
        let window = config.loginFailureWindow
        let userFailures = try store.eventCount(scope: "user", subject: username)
        let addressFailures = try store.eventCount(scope: "ip", subject: request.remoteAddress)
        if userFailures >= UInt64(config.maxLoginFailures) || addressFailures >= UInt64(config.maxLoginFailures * 4) {
            context.logger.warning("sign-in throttled", metadata: ["remote": "\(request.remoteAddress)"])
            let minutes = max(1, (window + 59) / 60)
            return try host.form(target: target, service: service, state: state, username: username, status: .tooManyRequests,
                                 message: "Too many failed sign-in attempts. Wait \(minutes) minute\(minutes == 1 ? "" : "s") and try again.")
                .adding(.retryAfter, String(window))
        }
        guard let user = host.users.authenticate(username: username, password: password) else {
            _ = try store.countEvent(scope: "user", subject: username, window: window)
            _ = try store.countEvent(scope: "ip", subject: request.remoteAddress, window: window)
            context.logger.notice("sign-in failed", metadata: ["remote": "\(request.remoteAddress)"])
            return try host.form(target: target, service: service, state: state, username: username, status: .ok,
                                 message: "The user name or password is incorrect.")
        }
        let now = context.now
        let tokenID = try SecureRandom.token()
        let session = JWTSession(
            user: user.username, lastAccessedTime: now,
            sessionTimeout: config.registry.sessionTimeout(for: user.services, fallback: config.defaultIdleTimeout),
            fingerprint: Fingerprint.of(request), created: now, expiresAt: now + config.sessionLifetime)
        try store.put(session, tokenID: tokenID, now: now)
        // The accounts host's own token: its cookie is accepted here and nowhere else (copyCookie mints one per app host).
        let claims = JWTClaims(iss: config.accountsURL.serialized, aud: [config.audience, config.accountsURL.serialized],
                               sub: user.username, jti: tokenID,
                               iat: now, nbf: now, exp: session.expiresAt, svc: user.services, name: user.name, email: user.email)
        let token = try host.gate.check.codec.sign(claims)
        context.logger.info("signed in", metadata: ["user": "\(user.username)", "timeout": "\(session.sessionTimeout)"])
        let next = target.map { host.copyCookieURL($0, state: state) } ?? "/"
        return HTTPResponse.redirect(to: next)
            .adding(.setCookie, Cookies.setCookie(name: config.cookieName, value: token, sameSite: config.cookieSameSite))
            .adding(.setCookie, Cookies.setCookie(name: config.csrfCookieName, value: "", maxAge: 0))
    }
}
