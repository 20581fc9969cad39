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
        if text.isEmpty { return try host.form(request, target: nil, service: nil, status: .ok, message: nil) }
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
            if case .valid(let identity) = try host.session(request, context: context),
               username.isEmpty || identity.claims.sub.utf8.elementsEqual(username.utf8) {
                // A form left open in another tab while this browser signed in there (which ended its token): on to
                // where the form was going, as `GET /login` would, with no password checked and no new session.
                context.logger.info("sign-in form of a signed-in browser: on to its page", metadata: ["user": "\(identity.claims.sub)"])
                return .redirect(to: target.map { host.copyCookieURL($0, state: state) } ?? "/")
            }
            context.logger.notice("sign-in refused: expired or forged form", metadata: ["remote": "\(request.remoteAddress)"])
            context.metrics.signIn(.badForm)
            host.audit.record("signin", [("result", "bad_form"), ("user", username), ("client", request.remoteAddress),
                                         ("service", service?.name ?? "")], now: context.now)
            // No cookie at all came back: the form's was not kept (cookies blocked), or it ran out with nothing else set.
            let noCookies = (request.header("Cookie") ?? "").allSatisfy { $0 == " " }
            let message = noCookies
                ? "This sign-in page expired, or your browser does not accept cookies from \(config.accountsURL.host). "
                    + "Sign-in needs them: allow cookies for \(config.accountsURL.host), then enter your password again."
                : "This sign-in page expired. Please enter your password again."
            return try host.form(request, target: target, service: service, state: state, username: username, status: .forbidden,
                                 message: message)
        }
        guard !username.isEmpty, !password.isEmpty else {
            return try host.form(request, target: target, service: service, state: state, username: username, status: .badRequest,
                                 message: "Enter your user name and your password.")
        }
        let throttle = SignInThrottle(store: store, limits: config.signInLimits)
        let device = deviceID(request, username: username, now: context.now)
        let ticket: SignInThrottle.Ticket
        switch try throttle.admit(username: username, remote: request.remoteAddress, device: device, now: context.now) {
        case .refuse(let retryAfter):
            context.logger.warning("sign-in throttled", metadata: ["remote": "\(request.remoteAddress)"])
            context.metrics.signIn(.throttled)
            host.audit.record("signin", [("result", "throttled"), ("user", username), ("client", request.remoteAddress),
                                         ("service", service?.name ?? "")], now: context.now)
            let wait = retryAfter < 90 ? "\(retryAfter) second\(retryAfter == 1 ? "" : "s")"
                : "\((retryAfter + 59) / 60) minute\(retryAfter > 60 ? "s" : "")"
            return try host.form(request, target: target, service: service, state: state, username: username, status: .tooManyRequests,
                                 message: "Too many failed sign-in attempts. Wait \(wait) and try again.")
                .adding(.retryAfter, String(retryAfter))
        case .judge(let admitted):
            ticket = admitted
        }
        guard let user = host.users.current.authenticate(username: username, password: password) else {
            try throttle.failed(ticket, now: context.now)
            context.logger.notice("sign-in failed", metadata: ["remote": "\(request.remoteAddress)"])
            context.metrics.signIn(.badPassword)
            host.audit.record("signin", [("result", "bad_password"), ("user", username), ("client", request.remoteAddress),
                                         ("service", service?.name ?? "")], now: context.now)
            return try host.form(request, target: target, service: service, state: state, username: username, status: .ok,
                                 message: "The user name or password is incorrect.")
        }
        try throttle.succeeded(ticket)
        let now = context.now
        let tokenID = try SecureRandom.token()
        let session = JWTSession(
            user: user.username, lastAccessedTime: now,
            sessionTimeout: config.registry.sessionTimeout(for: user.services, fallback: config.defaultIdleTimeout),
            fingerprint: Fingerprint.of(request), created: now, expiresAt: now + config.sessionLifetime)
        try store.put(session, tokenID: tokenID, now: now)
        do {
            try UserSessionIndex(store: store).record(tokenID, user: user.username, ttl: Int(config.sessionLifetime) + 60)
        } catch {
            // Not listed, so no revocation would find it: the session is taken back and the sign-in fails.
            try? store.deleteSession(tokenID)
            throw error
        }
        // The accounts host's own token: its cookie is accepted here and nowhere else (copyCookie mints one per app host).
        let claims = JWTClaims(iss: config.accountsURL.serialized, aud: [config.audience, config.accountsURL.serialized],
                               sub: user.username, jti: tokenID,
                               iat: now, nbf: now, exp: session.expiresAt, svc: user.services, name: user.name, email: user.email)
        let token = try host.gate.check.codec.sign(claims)
        context.logger.info("signed in", metadata: ["user": "\(user.username)", "timeout": "\(session.sessionTimeout)"])
        context.metrics.signIn(.ok)
        host.audit.record("signin", [("result", "ok"), ("user", user.username), ("client", request.remoteAddress),
                                     ("service", service?.name ?? ""), ("session", String(tokenID.prefix(8)))], now: now)
        let next = target.map { host.copyCookieURL($0, state: state) } ?? "/"
        return HTTPResponse.redirect(to: next)
            .adding(.setCookie, Cookies.setCookie(name: config.cookieName, value: token, sameSite: config.cookieSameSite))
            .adding(.setCookie, Cookies.setCookie(name: config.csrfCookieName, value: "", maxAge: 0))
            .adding(.setCookie, Cookies.setCookie(name: config.deviceCookieName, value: try deviceToken(for: user.username, now: now),
                                                  maxAge: Int(Self.deviceLifetime)))
    }

    /// How long a device cookie marks a browser as one the user signs in from, in seconds. Default: one year.
    static let deviceLifetime: Int64 = 365 * 86_400
    /// The audience of device tokens: no host accepts them as a session.
    static let deviceAudience = "sso:device"

    /// A signed device token for `username`: proves this browser signed in as that user before.
    func deviceToken(for username: String, now: Int64) throws -> String {
        try host.gate.check.codec.sign(JWTClaims(
            iss: host.config.accountsURL.serialized, aud: [host.config.audience, Self.deviceAudience], sub: username,
            jti: try SecureRandom.token(byteCount: 16), iat: now, nbf: now, exp: now + Self.deviceLifetime, svc: [], name: "", email: ""))
    }

    /// The id of this browser's device cookie when it is a valid one for `username`.
    func deviceID(_ request: HTTPRequest, username: String, now: Int64) -> String? {
        guard let token = request.cookie(host.config.deviceCookieName),
              let claims = try? host.gate.check.codec.verify(token, now: now, host: Self.deviceAudience),
              claims.sub.utf8.elementsEqual(username.utf8) else { return nil }  // bytes, as the users file is matched
        return claims.jti
    }
}
