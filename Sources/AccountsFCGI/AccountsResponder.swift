import Shared

/// The accounts host ("Sentry"): `noCookie`, `copyCookie`, the sign-in form, logout, a landing page.
struct AccountsResponder: Responder {
    let config: SSOConfig
    let check: SessionCheck
    let users: UserDirectory
    let page: Page

    init(config: SSOConfig, keys: JWTKeySet, users: UserDirectory) {
        self.config = config
        self.check = SessionCheck(codec: JWTCodec(keys: keys, issuer: config.accountsURL.serialized, audience: config.audience),
                                  lastAccessInterval: config.lastAccessInterval)
        self.users = users
        self.page = Page(branding: config.branding, formTargets: [config.accountsURL] + config.registry.services.flatMap(\.origins))
    }

    func respond(to request: HTTPRequest, context: RequestContext) -> HTTPResponse {
        let store = SessionStore(kv: context.store, prefix: config.keyPrefix)
        if request.bodyOmitted {
            return page.message(status: 413, title: "Too much data", text: "The form sent more data than sign-in accepts.")
        }
        do {
            switch (request.method, request.path) {
            case ("GET", "/noCookie"), ("HEAD", "/noCookie"):
                return noCookie(request)
            case ("GET", "/copyCookie"), ("HEAD", "/copyCookie"):
                return try copyCookie(request, context: context, store: store)
            case ("GET", "/login"), ("HEAD", "/login"):
                return try loginPage(request, context: context, store: store)
            case ("POST", "/login"):
                return try login(request, context: context, store: store)
            case ("GET", "/logout"), ("POST", "/logout"):
                return try logout(request, context: context, store: store)
            case ("GET", "/"), ("HEAD", "/"):
                return try landing(request, context: context, store: store)
            case ("GET", "/healthz"):
                return HTTPResponse(status: 200, body: Array("ok\n".utf8)).adding("Content-Type", "text/plain")
            case (_, "/noCookie"), (_, "/copyCookie"), (_, "/login"), (_, "/logout"), (_, "/"):
                return page.message(status: 405, title: "Not allowed", text: "This address does not accept \(request.method) requests.")
                    .adding("Allow", "GET")
            default:
                return page.message(status: 404, title: "Page not found", text: "There is nothing at this address.",
                                    link: ("Go to sign-in", "/"))
            }
        } catch {
            context.logger.error("store unavailable", metadata: ["error": "\(error)", "path": "\(request.path)"])
            return unavailable()
        }
    }

    // MARK: - Steps of the flow

    /// Step 3: validate `redirectURL`, then on to `copyCookie`.
    func noCookie(_ request: HTTPRequest) -> HTTPResponse {
        guard let target = redirectTarget(request.query["redirectURL"]) else { return badRedirect() }
        return .redirect(to: "/copyCookie?redirectURL=" + PercentEncoding.encode(target.url))
    }

    /// Steps 4–5: a signed-in user registered for the target gets a requestID; anyone else gets the form or a 403.
    func copyCookie(_ request: HTTPRequest, context: RequestContext, store: SessionStore) throws -> HTTPResponse {
        guard let target = redirectTarget(request.query["redirectURL"]),
              let service = config.registry.service(at: target.origin) else { return badRedirect() }
        switch try sessionOutcome(request, context: context, store: store) {
        case .valid(let identity):
            guard identity.claims.svc.contains(service.name) else {
                context.logger.notice("not registered", metadata: ["user": "\(identity.claims.sub)", "service": "\(service.name)"])
                return noAccess(service: service, user: identity.claims.name)
            }
            let requestID = try SecureRandom.uuidV4()
            try store.putHandoff(RequestHandoff(jwt: identity.token, origin: target.origin.serialized),
                                 requestID: requestID, ttl: config.requestIDTTL)
            return .redirect(to: target.appendingQuery("requestID", requestID))
        case .refused:
            return try form(target: target, service: service, status: 200, message: nil)
        }
    }

    func loginPage(_ request: HTTPRequest, context: RequestContext, store: SessionStore) throws -> HTTPResponse {
        let text = request.query["redirectURL"] ?? ""
        if text.isEmpty { return try form(target: nil, service: nil, status: 200, message: nil) }
        guard let target = redirectTarget(text) else { return badRedirect() }
        return .redirect(to: "/copyCookie?redirectURL=" + PercentEncoding.encode(target.url))
    }

    /// Step 4's POST: CSRF, throttle, credentials, then a new TokenID, `JWTSession` and JWT cookie.
    func login(_ request: HTTPRequest, context: RequestContext, store: SessionStore) throws -> HTTPResponse {
        let fields = FormFields(body: request.body)
        let targetText = fields["redirectURL"] ?? ""
        var target: RedirectTarget? = nil
        if !targetText.isEmpty {
            guard let t = redirectTarget(targetText) else { return badRedirect() }
            target = t
        }
        let service = target.flatMap { config.registry.service(at: $0.origin) }
        let username = fields["username"] ?? ""
        let password = fields["password"] ?? ""

        let csrfCookie = request.cookie(config.csrfCookieName) ?? ""
        let csrfField = fields["csrf"] ?? ""
        guard !csrfCookie.isEmpty, Digest.constantTimeEqual(Array(csrfCookie.utf8), Array(csrfField.utf8)) else {
            context.logger.notice("sign-in refused: expired or forged form", metadata: ["remote": "\(request.remoteAddress)"])
            return try self.form(target: target, service: service, username: username, status: 403,
                            message: "This sign-in page expired. Please enter your password again.")
        }
        guard !username.isEmpty, !password.isEmpty else {
            return try self.form(target: target, service: service, username: username, status: 400,
                                 message: "Enter your user name and your password.")
        }
        let window = config.loginFailureWindow
        let userFailures = try store.eventCount(scope: "user", subject: username)
        let addressFailures = try store.eventCount(scope: "ip", subject: request.remoteAddress)
        if userFailures >= UInt64(config.maxLoginFailures) || addressFailures >= UInt64(config.maxLoginFailures * 4) {
            context.logger.warning("sign-in throttled", metadata: ["remote": "\(request.remoteAddress)"])
            let minutes = max(1, (window + 59) / 60)
            return try self.form(target: target, service: service, username: username, status: 429,
                                 message: "Too many failed sign-in attempts. Wait \(minutes) minute\(minutes == 1 ? "" : "s") and try again.")
                .adding("Retry-After", String(window))
        }
        guard let user = users.authenticate(username: username, password: password) else {
            _ = try store.countEvent(scope: "user", subject: username, window: window)
            _ = try store.countEvent(scope: "ip", subject: request.remoteAddress, window: window)
            context.logger.notice("sign-in failed", metadata: ["remote": "\(request.remoteAddress)"])
            return try self.form(target: target, service: service, username: username, status: 200,
                                 message: "The user name or password is incorrect.")
        }
        let now = context.now
        let tokenID = try SecureRandom.token()
        let session = JWTSession(
            user: user.username, lastAccessedTime: now,
            sessionTimeout: config.registry.sessionTimeout(for: user.services, fallback: config.defaultIdleTimeout),
            fingerprint: Fingerprint.of(request), created: now, expiresAt: now + config.sessionLifetime)
        try store.put(session, tokenID: tokenID, now: now)
        let claims = JWTClaims(iss: config.accountsURL.serialized, aud: config.audience, sub: user.username, jti: tokenID,
                               iat: now, nbf: now, exp: session.expiresAt, svc: user.services, name: user.name, email: user.email)
        let token = try check.codec.sign(claims)
        context.logger.info("signed in", metadata: ["user": "\(user.username)", "timeout": "\(session.sessionTimeout)"])
        let next = target.map { "/copyCookie?redirectURL=" + PercentEncoding.encode($0.url) } ?? "/"
        return HTTPResponse.redirect(to: next)
            .adding("Set-Cookie", Cookies.setCookie(name: config.cookieName, value: token, sameSite: config.cookieSameSite))
            .adding("Set-Cookie", Cookies.setCookie(name: config.csrfCookieName, value: "", maxAge: 0))
    }

    /// Deletes the session from the store, so every host's cookie fails at its next check, on every domain.
    func logout(_ request: HTTPRequest, context: RequestContext, store: SessionStore) throws -> HTTPResponse {
        if let token = request.cookie(config.cookieName),
           let claims = try? check.codec.verify(token, now: context.now) {
            try store.deleteSession(claims.jti)
            context.logger.info("signed out", metadata: ["user": "\(claims.sub)"])
        }
        let clear = Cookies.setCookie(name: config.cookieName, value: "", maxAge: 0)
        if let text = request.query["redirectURL"], let target = redirectTarget(text) {
            return HTTPResponse.redirect(to: target.url).adding("Set-Cookie", clear)
        }
        return page.message(status: 200, title: "You are signed out",
                            text: "You have been signed out of every application. Close the browser if you share this computer.",
                            link: ("Sign in again", "/login"), isError: false)
            .adding("Set-Cookie", clear)
    }

    func landing(_ request: HTTPRequest, context: RequestContext, store: SessionStore) throws -> HTTPResponse {
        guard case .valid(let identity) = try sessionOutcome(request, context: context, store: store) else {
            return try form(target: nil, service: nil, status: 200, message: nil)
        }
        let services = identity.claims.svc.compactMap { config.registry.service(named: $0) }
        var content = "<h1>You are signed in</h1>\n<p>as <span class=\"target\">\(HTML.escape(identity.claims.name))</span> (\(HTML.escape(identity.claims.sub)))</p>\n"
        if !services.isEmpty {
            content += "<p>Your applications:</p>\n<ul class=\"links\">\n"
            for s in services {
                if let origin = s.origins.first {
                    content += "<li><a href=\"\(HTML.escape(origin.serialized))/\">\(HTML.escape(s.title))</a></li>\n"
                }
            }
            content += "</ul>\n"
        }
        content += "<a class=\"button\" href=\"/logout\">Sign out</a>\n"
        return page.render(status: 200, title: "Signed in", content: content)
    }

    // MARK: - Helpers

    func sessionOutcome(_ request: HTTPRequest, context: RequestContext, store: SessionStore) throws -> SessionCheck.Outcome {
        try check.check(token: request.cookie(config.cookieName), fingerprint: Fingerprint.of(request), service: nil,
                        now: context.now, store: store)
    }

    func redirectTarget(_ text: String?) -> RedirectTarget? {
        guard let text else { return nil }
        return RedirectTarget.validate(text, allowedOrigins: config.registry.origins)
    }

    func form(target: RedirectTarget?, service: Service?, username: String = "", status: Int, message: String?) throws -> HTTPResponse {
        let csrf = try SecureRandom.token()
        return page.login(status: status, target: service?.title, redirectURL: target?.url, csrf: csrf, username: username, message: message)
            .adding("Set-Cookie", Cookies.setCookie(name: config.csrfCookieName, value: csrf, maxAge: 1800))
    }

    func badRedirect() -> HTTPResponse {
        page.message(status: 400, title: "This link cannot be used",
                     text: "The address you came from is not one of the applications this sign-in serves, so you were not sent back to it. "
                         + "Go back to your application and try again, or contact its administrator.",
                     link: ("Go to sign-in", "/"))
    }

    func noAccess(service: Service, user: String) -> HTTPResponse {
        page.message(status: 403, title: "No access to \(service.title)",
                     text: "You are signed in as \(user), but this account is not registered for \(service.title). "
                         + "Ask your administrator for access, or sign out and sign in with another account.",
                     link: ("Sign out", "/logout"))
    }

    func unavailable() -> HTTPResponse {
        page.message(status: 503, title: "Sign-in is unavailable",
                     text: "Sign-in cannot be checked right now. Nothing you entered was kept. Please try again in a minute.",
                     link: ("Try again", "/"))
            .adding("Retry-After", "30")
    }
}
