import FastCGI
import SSOCore

/// Where a 401 lands (nginx `@sso_signin`, and the authorizer's refusals): step 6, redeeming a requestID into this
/// host's cookie; or step 2, sending the browser to accounts (401 JSON for API calls), after keeping a form whose
/// session ended.
struct SignInStep: AppStep {
    let host: AppHost
    let capture: CaptureStep

    func respond(to request: HTTPRequest, at site: Site, context: RequestContext) -> HTTPResponse {
        let cleanURI = URLQuery.removing("requestID", from: request.requestURI)
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
                default: break
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
            context.logger.error("store unavailable", metadata: ["error": "\(error)"])
            return host.unavailable(request, service: site.service, retryURL: cleanURL)
        }
    }

    /// Step 6: a requestID issued for this origin, not used, not expired, becomes this host's JWT cookie. Nil: not valid.
    func redeem(_ requestID: String, request: HTTPRequest, at site: Site, cleanURL: String,
                context: RequestContext) throws -> HTTPResponse? {
        guard let handoff = try host.gate.store(context).redeemHandoff(requestID) else {
            context.logger.notice("requestID not valid (unknown, used or expired)")
            return nil
        }
        guard handoff.origin == site.origin.serialized else {
            context.logger.warning("requestID presented at the wrong origin", metadata: ["origin": "\(site.origin)"])
            return nil
        }
        switch try host.gate.outcome(of: request, token: .some(handoff.jwt), at: site.origin, service: site.service, context: context) {
        case .valid(let identity):
            context.logger.info("requestID redeemed", metadata: ["user": "\(identity.claims.sub)", "service": "\(site.service.name)"])
            return HTTPResponse.redirect(to: cleanURL)
                .adding(.setCookie, Cookies.setCookie(name: host.gate.cookieName, value: handoff.jwt, sameSite: host.config.cookieSameSite))
        case .refused(.notRegistered):
            return host.noAccess(site.service)
        case .refused(let why):
            context.logger.notice("hand-off session not valid", metadata: ["reason": "\(why.rawValue)"])
            return nil
        }
    }
}
