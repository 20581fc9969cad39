import FastCGI
import SSOCore

/// Where a 401 lands (nginx `@sso_signin`, and the authorizer's refusals): step 6, redeeming a requestID into this
/// host's cookie; or step 2, sending the browser to accounts (401 JSON for API calls), after keeping a form whose
/// session ended.
struct SignInStep: AppStep {
    let host: AppHost
    let capture: CaptureStep

    func respond(to request: HTTPRequest, at site: Site, context: RequestContext) -> HTTPResponse {
        let cleanURI = URLQuery.removing(Self.switchParameter, from: URLQuery.removing("requestID", from: request.requestURI))
        let cleanURL = site.origin.serialized + cleanURI
        do {
            let requestID = request.query["requestID"]
            if let requestID, let answer = try redeem(requestID, request: request, at: site, cleanURL: cleanURL, context: context) {
                return answer
            }
            if request.cookie(host.gate.cookieName) != nil {
                switch try host.gate.outcome(of: request, at: site.origin, service: site.service, context: context) {
                case .refused(.notRegistered): return host.noAccess(site.service)
                case .valid where requestID != nil: return .redirect(to: cleanURL)
                case .valid:
                    // The check that sent this request here could not read the session a moment ago (the store was
                    // coming back, and that worker's connection was not yet): never a sign-in for a valid session.
                    // The 503 says try again; by then every worker reads the store.
                    context.logger.debug("session valid on the sign-in path: the check could not read it")
                    return host.unavailable(request, service: site.service, retryURL: cleanURL, retryAfter: 1)
                case .refused: break
                }
            }
            if capture.shouldCapture(request) {
                if request.role == .authorizer {
                    // The authorizer never sees the body: the browser re-sends it (307 keeps method and body) to the capture endpoint.
                    return .redirect(to: site.origin.serialized + "/_sso/capture?to=" + PercentEncoding.encode(cleanURI),
                                     status: .temporaryRedirect)
                }
                let cookie = try capture.keep(request, uri: cleanURI, at: site, context: context)
                return host.startSignIn(request, cleanURL: cleanURL, status: .seeOther).adding(.setCookie, cookie)
            }
            return host.startSignIn(request, cleanURL: cleanURL)
        } catch {
            context.logger.debug("store unavailable", metadata: ["error": "\(error)"])
            return host.unavailable(request, service: site.service, retryURL: cleanURL)
        }
    }

    /// The query parameter that says the user chose, on the page, to replace the signed-in user with the hand-off's.
    static let switchParameter = "sso_switch"

    /// Step 6: a requestID issued for this origin and this browser (its state cookie), not used, not expired, becomes
    /// this host's cookie. Nil: not valid at all (unknown, used, expired), so the browser is sent to sign in afresh.
    /// One issued elsewhere is burned and refused with a page; one for another user than the one signed in here waits
    /// for the user to choose on a page.
    func redeem(_ requestID: String, request: HTTPRequest, at site: Site, cleanURL: String,
                context: RequestContext) throws -> HTTPResponse? {
        let store = host.gate.store(context)
        guard let handoff = try store.peekHandoff(requestID) else {
            context.logger.notice("requestID not valid (unknown, used or expired)")
            context.metrics.handoff(.refused)
            return nil
        }
        guard handoff.origin == site.origin.serialized else {
            _ = try store.burnHandoff(requestID)
            context.logger.warning("requestID presented at the wrong origin", metadata: ["origin": "\(site.origin)"])
            context.metrics.handoff(.refused)
            return nil
        }
        guard handoff.belongs(toState: request.cookie(host.config.stateCookieName)) else {
            _ = try store.burnHandoff(requestID)
            if try alreadySignedIn(request, as: handoff, at: site, context: context) {
                // Another tab of this browser signed in here first (which ended the state): the page, as it is.
                context.logger.info("requestID of a browser signed in here as the same user: on to the page",
                                    metadata: ["origin": "\(site.origin)"])
                context.metrics.handoff(.refused)
                return HTTPResponse.redirect(to: cleanURL)
            }
            context.logger.warning("requestID refused: not started by this browser", metadata: ["origin": "\(site.origin)"])
            context.metrics.handoff(.refused)
            host.audit.record("handoff", [("result", "not_this_browser"), ("client", request.remoteAddress),
                                          ("service", site.service.name)], now: context.now)
            return notStartedHere(site: site, cleanURL: cleanURL)
        }
        let outcome = try host.gate.outcome(of: request, token: .some(handoff.jwt), at: site.origin, service: site.service,
                                            context: context)
        switch outcome {
        case .valid(let identity):
            if request.query[Self.switchParameter] == nil,
               case .valid(let current)? = try? host.gate.outcome(of: request, at: site.origin, service: site.service, context: context),
               current.claims.sub != identity.claims.sub {
                return confirmSwitch(from: current, to: identity, requestID: requestID, site: site, cleanURL: cleanURL)
            }
            guard try store.burnHandoff(requestID) else {  // another request used it first
                context.metrics.handoff(.refused)
                return nil
            }
            context.metrics.handoff(.redeemed)
            context.logger.info("requestID redeemed", metadata: ["user": "\(identity.claims.sub)", "service": "\(site.service.name)"])
            host.audit.record("handoff", [("result", "redeemed"), ("user", identity.claims.sub), ("client", request.remoteAddress),
                                          ("service", site.service.name), ("session", String(identity.claims.jti.prefix(8)))],
                              now: context.now)
            return HTTPResponse.redirect(to: cleanURL)
                .adding(.setCookie, Cookies.setCookie(name: host.gate.cookieName, value: handoff.jwt, sameSite: host.config.cookieSameSite))
                .adding(.setCookie, Cookies.setCookie(name: host.config.stateCookieName, value: "", maxAge: 0))
        case .refused(.notRegistered):
            _ = try store.burnHandoff(requestID)
            context.metrics.handoff(.refused)
            return host.noAccess(site.service)
        case .refused(let why):
            _ = try store.burnHandoff(requestID)
            context.logger.notice("hand-off session not valid", metadata: ["reason": "\(why.rawValue)"])
            context.metrics.handoff(.refused)
            return nil
        }
    }

    /// Whether this browser already holds a valid session at `site` for the user `handoff` signs in: then the hand-off
    /// changes nothing, and the page can be shown without it (no cookie set from it).
    private func alreadySignedIn(_ request: HTTPRequest, as handoff: RequestHandoff, at site: Site,
                                 context: RequestContext) throws -> Bool {
        guard case .valid(let current) = try host.gate.outcome(of: request, at: site.origin, service: site.service, context: context),
              case .valid(let handed) = try host.gate.outcome(of: request, token: .some(handoff.jwt), at: site.origin,
                                                              service: site.service, context: context)
        else { return false }
        return current.claims.sub.utf8.elementsEqual(handed.claims.sub.utf8)
    }

    /// A requestID this browser did not ask for: someone sent the link. Nothing changes here; the user may sign in.
    private func notStartedHere(site: Site, cleanURL: String) -> HTTPResponse {
        host.page.message(status: .forbidden, title: "This sign-in link was not started here",
                          text: "The link you opened signs in a browser that asked for it, and this browser did not. "
                              + "Nothing was changed. If you want to use \(site.service.title), sign in yourself.",
                          link: ("Sign in to \(site.service.title)", cleanURL))
    }

    /// Signed in here as one user, a hand-off comes back for another: the user decides. 409, not 200: to Apache's
    /// authorizer a 200 means "let the request through".
    private func confirmSwitch(from current: SessionCheck.Identity, to next: SessionCheck.Identity, requestID: String,
                               site: Site, cleanURL: String) -> HTTPResponse {
        let proceed = URLQuery.appending(Self.switchParameter, "1", to: URLQuery.appending("requestID", requestID, to: cleanURL))
        let content = """
        <h1>Switch account?</h1>
        <p>You are signed in to <span class="target">\(HTML.escape(site.service.title))</span> as \
        <span class="target">\(HTML.escape(current.claims.name))</span> (\(HTML.escape(current.claims.sub))).</p>
        <p>This sign-in is for <span class="target">\(HTML.escape(next.claims.name))</span> \
        (\(HTML.escape(next.claims.sub))). Continue as \(HTML.escape(next.claims.sub)) only if you started it.</p>
        <a class="button" href="\(HTML.escape(proceed))">Continue as \(HTML.escape(next.claims.sub))</a>
        <a class="button secondary" href="\(HTML.escape(cleanURL))">Stay signed in as \(HTML.escape(current.claims.sub))</a>

        """
        return host.page.render(status: .conflict, title: "Switch account?", content: content)
    }
}
