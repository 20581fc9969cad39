import Shared

/// Beside every protected app host: the `auth_request` check, the sign-in path (requestID redemption, redirect to accounts,
/// 401 for API calls), and Apache's FastCGI authorizer role, which is both in one answer.
struct AppAuthResponder: Responder {
    /// What the web server asked for, from the `SSO_ACTION` param (nginx, and Apache's replay rule), the path
    /// (Apache's `/_sso/capture`) or the FastCGI role (Apache's authorizer).
    enum Action { case check, signin, authorize, replay, capture }

    let config: SSOConfig
    let check: SessionCheck
    let page: Page

    init(config: SSOConfig, keys: JWTKeySet) {
        self.config = config
        self.check = SessionCheck(codec: JWTCodec(keys: keys, issuer: config.accountsURL.serialized, audience: config.audience),
                                  lastAccessInterval: config.lastAccessInterval)
        self.page = Page(branding: config.branding)
    }

    func action(_ request: HTTPRequest) -> Action {
        if request.role == .authorizer { return .authorize }
        switch request.params["SSO_ACTION"] {
        case "check": return .check
        case "replay": return .replay
        default: return request.path == "/_sso/capture" ? .capture : .signin
        }
    }

    func respond(to request: HTTPRequest, context: RequestContext) -> HTTPResponse {
        let store = SessionStore(kv: context.store, prefix: config.keyPrefix)
        guard let origin = request.origin, let service = config.registry.service(at: origin) else {
            context.logger.error("origin not in the service registry", metadata: ["origin": "\(request.origin?.serialized ?? "(none)")"])
            // The auth check's answers have empty bodies (nginx discards them); nginx sends its 403 on to @sso_replay,
            // whose answer is this page.
            if action(request) == .check { return .empty(403) }
            return page.message(status: 403, title: "Sign-in is not set up for this site",
                                text: "This address is not registered with the single sign-on. Contact the administrator of this site.")
        }
        switch action(request) {
        case .check:
            return authCheck(request, service: service, context: context, store: store, signalReplay: true)
        case .signin:
            return signIn(request, origin: origin, service: service, context: context, store: store)
        case .replay, .capture:
            do {
                if action(request) == .capture { return try captureEndpoint(request, origin: origin, context: context) }
                return try replay(request, origin: origin, service: service, context: context, sessions: store)
            } catch {
                context.logger.error("store unavailable", metadata: ["error": "\(error)"])
                return unavailable(request, service: service, retryURL: origin.serialized + request.requestURI)
            }
        case .authorize:
            let answer = authCheck(request, service: service, context: context, store: store, signalReplay: false)
            guard answer.status == 200 else { return signIn(request, origin: origin, service: service, context: context, store: store) }
            var out = HTTPResponse(status: 200)
            out.add("Variable-SSO_USER", answer.header("X-Remote-User") ?? "")
            out.add("Variable-SSO_EMAIL", answer.header("X-Remote-Email") ?? "")
            out.add("Variable-SSO_NAME", answer.header("X-Remote-Name") ?? "")
            return out
        }
    }

    /// The `auth_request` oracle: 200 with the identity headers, or 401. Empty bodies; one store read on the common path.
    /// With `signalReplay` (nginx), a signed-in request carrying the replay cookie answers 403, which nginx routes to
    /// `@sso_replay`.
    func authCheck(_ request: HTTPRequest, service: Service, context: RequestContext, store: SessionStore,
                   signalReplay: Bool) -> HTTPResponse {
        // A requestID in the URL always goes through the sign-in path, which redeems it and removes it from the address.
        let query = request.queryString
        if query.utf8.count >= 9 && query.contains("requestID") && request.query["requestID"] != nil { return .empty(401) }
        do {
            // The session cookie and the replay cookie, read in one pass over the Cookie header.
            let (token, replay) = request.cookies(config.cookieName, cache.cookieName)
            switch try check.check(token: token, fingerprint: Fingerprint.of(request),
                                   service: service.name, now: context.now, store: store) {
            case .valid(let identity):
                if signalReplay && cache.enabled && replay != nil { return .empty(403) }
                return HTTPResponse(status: 200)
                    .adding("X-Remote-User", identity.claims.sub)
                    .adding("X-Remote-Email", identity.claims.email)
                    .adding("X-Remote-Name", identity.claims.name)
            case .refused(let why):
                context.logger.debug("check refused", metadata: ["reason": "\(why.rawValue)"])
                return .empty(401)
            }
        } catch {
            // The sign-in path checks again and shows the 503 page: auth_request can only carry 2xx, 401 and 403.
            context.logger.error("store unavailable", metadata: ["error": "\(error)"])
            return .empty(401)
        }
    }

    /// Where a 401 lands: redeem a requestID, or send the browser to accounts (API calls get a 401 with JSON).
    func signIn(_ request: HTTPRequest, origin: Origin, service: Service, context: RequestContext, store: SessionStore) -> HTTPResponse {
        let cleanURI = URLQuery.removing("requestID", from: request.requestURI)
        let cleanURL = origin.serialized + cleanURI
        do {
            if let requestID = request.query["requestID"] {
                if let answer = try redeem(requestID, request: request, origin: origin, service: service, cleanURL: cleanURL,
                                           context: context, store: store) {
                    return answer
                }
            }
            let token = request.cookie(config.cookieName)
            if token != nil {
                let outcome = try check.check(token: token, fingerprint: Fingerprint.of(request), service: service.name,
                                              now: context.now, store: store)
                switch outcome {
                case .refused(.notRegistered): return noAccess(service)
                case .valid where request.query["requestID"] != nil: return .redirect(to: cleanURL)
                default: break
                }
            }
            if shouldCapture(request) {
                if request.role == .authorizer {
                    // The authorizer never sees the body: the browser re-sends it (307 keeps method and body) to the capture endpoint.
                    return HTTPResponse(status: 307).adding("Location", origin.serialized + "/_sso/capture?to=" + PercentEncoding.encode(cleanURI))
                        .adding("Cache-Control", "no-store")
                }
                let cookie = try capture(request, uri: cleanURI, origin: origin, context: context,
                                         store: RequestCacheStore(kv: context.store, prefix: config.keyPrefix))
                return startSignIn(request, cleanURL: cleanURL, status: 303).adding("Set-Cookie", cookie)
            }
            return startSignIn(request, cleanURL: cleanURL)
        } catch {
            context.logger.error("store unavailable", metadata: ["error": "\(error)"])
            return unavailable(request, service: service, retryURL: cleanURL)
        }
    }

    /// The fail-closed answer when the store cannot be reached: 503 JSON for API calls, a 503 page for people.
    func unavailable(_ request: HTTPRequest, service: Service, retryURL: String) -> HTTPResponse {
        if request.isAPIRequest {
            return .jsonError(503, code: "unavailable", message: "Sign-in is temporarily unavailable.").adding("Retry-After", "30")
        }
        return page.message(status: 503, title: "Sign-in is unavailable",
                            text: "Your sign-in cannot be checked right now, so \(service.title) cannot be opened. Please try again in a minute.",
                            link: ("Try again", retryURL))
            .adding("Retry-After", "30")
    }

    /// Step 6: a requestID issued for this origin, not used, not expired, becomes this host's JWT cookie. Nil: not valid.
    func redeem(_ requestID: String, request: HTTPRequest, origin: Origin, service: Service, cleanURL: String,
                context: RequestContext, store: SessionStore) throws -> HTTPResponse? {
        guard let handoff = try store.redeemHandoff(requestID) else {
            context.logger.notice("requestID not valid (unknown, used or expired)")
            return nil
        }
        guard handoff.origin == origin.serialized else {
            context.logger.warning("requestID presented at the wrong origin", metadata: ["origin": "\(origin)"])
            return nil
        }
        switch try check.check(token: handoff.jwt, fingerprint: Fingerprint.of(request), service: service.name,
                               now: context.now, store: store) {
        case .valid(let identity):
            context.logger.info("requestID redeemed", metadata: ["user": "\(identity.claims.sub)", "service": "\(service.name)"])
            return HTTPResponse.redirect(to: cleanURL)
                .adding("Set-Cookie", Cookies.setCookie(name: config.cookieName, value: handoff.jwt, sameSite: config.cookieSameSite))
        case .refused(.notRegistered):
            return noAccess(service)
        case .refused(let why):
            context.logger.notice("hand-off session not valid", metadata: ["reason": "\(why.rawValue)"])
            return nil
        }
    }

    /// To accounts (302, or 303 after a kept submission), or 401 JSON for API calls.
    func startSignIn(_ request: HTTPRequest, cleanURL: String, status: Int = 302) -> HTTPResponse {
        let noCookie = config.accountsURL.serialized + "/noCookie?redirectURL=" + PercentEncoding.encode(cleanURL)
        if request.isAPIRequest {
            return .jsonError(401, code: "unauthenticated", message: "Sign-in required.", extra: [("login_url", noCookie)])
        }
        var response = HTTPResponse.redirect(to: noCookie)
        response.status = status
        return response
    }

    func noAccess(_ service: Service) -> HTTPResponse {
        page.message(status: 403, title: "No access to \(service.title)",
                     text: "Your account is not registered for \(service.title). Ask your administrator for access.",
                     link: ("Sign out", config.accountsURL.serialized + "/logout"))
    }
}
