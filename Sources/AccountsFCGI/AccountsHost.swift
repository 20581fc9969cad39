import FastCGI
import SSOCore
import SSOCrypto
import SSOJWT

/// One step of the flow on the accounts host: a pure function of the request and its context. Steps that use the store
/// may throw `StoreError`; the dispatcher turns that into the 503 page (fail closed).
protocol AccountsStep: Sendable {
    func respond(to request: HTTPRequest, context: RequestContext) throws -> HTTPResponse
}

/// What every step on the accounts host shares: the config, the session check, the users, the pages, and the answers
/// several steps give.
struct AccountsHost: Sendable {
    let config: SSOConfig
    let gate: SessionGate
    let users: UsersFile
    let page: Page
    /// The audit trail (`audit.log_file`).
    let audit: AuditLog

    init(config: SSOConfig, keys: JWTKeySet, users: UsersFile, audit: AuditLog) {
        self.audit = audit
        self.config = config
        let check = SessionCheck(codec: JWTCodec(keys: keys, issuer: config.accountsURL.serialized, audience: config.audience),
                                 lastAccessInterval: config.lastAccessInterval)
        self.gate = SessionGate(check: check, cookieName: config.cookieName, keyPrefix: config.keyPrefix)
        self.users = users
        self.page = Page(branding: config.branding, formTargets: [config.accountsURL] + config.registry.services.flatMap(\.origins))
    }

    /// The accounts session of this request (no service: the accounts host needs no registration).
    func session(_ request: HTTPRequest, context: RequestContext) throws -> SessionCheck.Outcome {
        try gate.outcome(of: request, at: config.accountsURL, service: nil, context: context)
    }

    /// `redirectURL` checked against the service registry; nil when absent or refused.
    func redirectTarget(_ text: String?) -> RedirectTarget? {
        guard let text else { return nil }
        return RedirectTarget.validate(text, allowedOrigins: config.registry.origins)
    }

    /// The sign-in form for `request`'s browser with its CSRF token (cookie and hidden field); `state` rides along to
    /// copyCookie.
    func form(_ request: HTTPRequest, target: RedirectTarget?, service: Service?, state: String? = nil, username: String = "",
              status: HTTPStatus, message: String?) throws -> HTTPResponse {
        let csrf = try csrfToken(request)
        return page.login(status: status, target: service?.title, redirectURL: target?.url, state: state, csrf: csrf,
                          username: username, message: message)
            .adding(.setCookie, Cookies.setCookie(name: config.csrfCookieName, value: csrf, maxAge: 1800))
    }

    /// The CSRF token of a form shown to `request`'s browser: the one its cookie already holds when well formed, so
    /// every form open in its tabs stays valid (the cookie is `__Host-`: no other host can have set it); else a fresh
    /// one. A sign-in clears the cookie, so the next form after it has a new token.
    func csrfToken(_ request: HTTPRequest) throws -> String {
        if let held = request.cookie(config.csrfCookieName), SecureRandom.isToken(held) { return held }
        return try SecureRandom.token()
    }

    /// The `state` an app host sent with this sign-in, when well formed.
    func state(_ text: String?) -> String? { text.flatMap { HandoffState.isWellFormed($0) ? $0 : nil } }

    /// `/copyCookie` for `target`, carrying `state`.
    func copyCookieURL(_ target: RedirectTarget, state: String?) -> String {
        "/copyCookie?redirectURL=" + PercentEncoding.encode(target.url) + (state.map { "&state=" + $0 } ?? "")
    }

    func badRedirect() -> HTTPResponse {
        page.message(status: .badRequest, title: "This link cannot be used",
                     text: "The address you came from is not one of the applications this sign-in serves, so you were not sent back to it. "
                         + "Go back to your application and try again, or contact its administrator.",
                     link: ("Go to sign-in", "/"))
    }

    func noAccess(service: Service, user: String) -> HTTPResponse {
        page.message(status: .forbidden, title: "No access to \(service.title)",
                     text: "You are signed in as \(user), but this account is not registered for \(service.title). "
                         + "Ask your administrator for access, or sign out and sign in with another account.",
                     link: ("Sign out", "/logout"))
    }

    func unavailable() -> HTTPResponse {
        page.message(status: .serviceUnavailable, title: "Sign-in is unavailable",
                     text: "Sign-in cannot be checked right now. Nothing you entered was kept. Please try again in a minute.",
                     link: ("Try again", "/"))
            .adding(.retryAfter, "30")
    }
}
