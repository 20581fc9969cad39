import FastCGI
import SSOCore
import SSOJWT

/// Where a request on an app host is going: its public origin and the registered service there.
struct Site: Sendable {
    let origin: Origin
    let service: Service
}

/// One step of the flow on an app host: a pure function of the request, where it is going, and its context.
protocol AppStep: Sendable {
    func respond(to request: HTTPRequest, at site: Site, context: RequestContext) -> HTTPResponse
}

/// What every step on an app host shares: the config, the session check, the pages, the app's backend client, and the
/// answers several steps give.
struct AppHost: Sendable {
    let config: SSOConfig
    let gate: SessionGate
    let page: Page
    /// Delivers kept requests to the app (`SSO_BACKEND`).
    let backend: any BackendClient
    /// The audit trail (`audit.log_file`).
    let audit: AuditLog

    init(config: SSOConfig, keys: JWTKeySet, backend: any BackendClient, audit: AuditLog) {
        self.audit = audit
        self.config = config
        let check = SessionCheck(codec: JWTCodec(keys: keys, issuer: config.accountsURL.serialized, audience: config.audience),
                                 lastAccessInterval: config.lastAccessInterval)
        self.gate = SessionGate(check: check, cookieName: config.cookieName, keyPrefix: config.keyPrefix)
        self.page = Page(branding: config.branding)
        self.backend = backend
    }

    var cache: SSOConfig.RequestCache { config.requestCache }

    /// Kept requests in this request's store.
    func keptRequests(_ context: RequestContext) -> RequestCacheStore { RequestCacheStore(kv: context.store, prefix: config.keyPrefix) }

    /// To accounts (302, or 303 after a kept submission), or 401 JSON for API calls. A browser is given the state
    /// cookie that binds the sign-in to it (kept if it has one already, so several tabs can sign in at once) and the
    /// same value travels as `state` through noCookie, the sign-in form and copyCookie, back with the requestID.
    func startSignIn(_ request: HTTPRequest, cleanURL: String, status: HTTPStatus = .found) -> HTTPResponse {
        let noCookie = config.accountsURL.serialized + "/noCookie?redirectURL=" + PercentEncoding.encode(cleanURL)
        if request.isAPIRequest {
            return .jsonError(.unauthorized, code: "unauthenticated", message: "Sign-in required.", extra: [("login_url", noCookie)])
        }
        let kept = request.cookie(config.stateCookieName).flatMap { HandoffState.isWellFormed($0) ? $0 : nil }
        guard let state = kept ?? (try? HandoffState.make()) else {
            return page.message(status: .serviceUnavailable, title: "Sign-in is unavailable",
                                text: "Sign-in cannot be started right now. Please try again in a minute.")
        }
        return .redirect(to: noCookie + "&state=" + state, status: status)
            .adding(.setCookie, Cookies.setCookie(name: config.stateCookieName, value: state, maxAge: Self.stateLifetime))
    }

    /// How long a started sign-in may take, in seconds: the state cookie's Max-Age. Default: 1800.
    static let stateLifetime = 1800

    /// The fail-closed answer when the store cannot be reached: 503 JSON for API calls, a 503 page for people.
    func unavailable(_ request: HTTPRequest, service: Service, retryURL: String) -> HTTPResponse {
        if request.isAPIRequest {
            return .jsonError(.serviceUnavailable, code: "unavailable", message: "Sign-in is temporarily unavailable.")
                .adding(.retryAfter, "30")
        }
        return page.message(status: .serviceUnavailable, title: "Sign-in is unavailable",
                            text: "Your sign-in cannot be checked right now, so \(service.title) cannot be opened. Please try again in a minute.",
                            link: ("Try again", retryURL))
            .adding(.retryAfter, "30")
    }

    /// A signed-in user who is not registered for this service.
    func noAccess(_ service: Service) -> HTTPResponse {
        page.message(status: .forbidden, title: "No access to \(service.title)",
                     text: "Your account is not registered for \(service.title). Ask your administrator for access.",
                     link: ("Sign out", config.accountsURL.serialized + "/logout"))
    }
}
