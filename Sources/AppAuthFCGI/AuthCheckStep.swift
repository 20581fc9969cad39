import FastCGI
import SSOCore

/// nginx's `auth_request` oracle: 200 with the identity headers, or 401. Empty bodies; one store read on the common path.
/// The one signed-in request a kept submission waits for answers 403 with `X-SSO-Route: replay`, which nginx's
/// `@sso_replay` sends back here to be rebuilt; every other 403 in the location stays a 403.
/// With `decision_cache.seconds` > 0 a 200 says in `X-Accel-Expires` how long nginx may keep it (never past the session's
/// idle or absolute end); every other answer says `X-Accel-Expires: 0`, so nginx never keeps one, whatever its config.
struct AuthCheckStep: AppStep {
    let host: AppHost
    let route: ReplayRoute

    func respond(to request: HTTPRequest, at site: Site, context: RequestContext) -> HTTPResponse {
        // A requestID in the URL always goes through the sign-in path, which redeems it and removes it from the address.
        if request.carriesRequestID { return Self.unauthorized }
        let started = SSOMetrics.now()
        do {
            // The session cookie and the replay cookie, read in one pass over the Cookie header.
            let (token, replay) = request.cookies(host.gate.cookieName, host.cache.cookieName)
            switch try host.gate.outcome(of: request, token: .some(token), at: site.origin, service: site.service, context: context) {
            case .valid(let identity):
                context.metrics.check(.valid, startedAt: started)
                // A store hiccup while looking for a kept submission lets the request through as it is; the next one retries.
                if (try? route.waits(for: request, replayCookie: replay, at: site, context: context)) ?? false {
                    return Self.notKept(HTTPResponse.empty(.forbidden).adding(.ssoRoute, "replay"))
                }
                // Built in place, room for every field at once: each `adding` copied the fields before appending.
                var answer = HTTPResponse(status: .ok)
                answer.headers.reserveCapacity(4)
                answer.add(.xRemoteUser, identity.claims.sub)
                answer.add(.xRemoteEmail, identity.claims.email)
                answer.add(.xRemoteName, identity.claims.name)
                let limit = host.config.decisionCache.seconds
                if limit > 0 { answer.add(.xAccelExpires, String(identity.decisionCacheSeconds(limit: limit, now: context.now))) }
                return answer
            case .refused(let why):
                context.metrics.check(CheckResult(why), startedAt: started)
                context.logger.debug("check refused", metadata: ["reason": "\(why.rawValue)"])
                return Self.unauthorized
            }
        } catch {
            context.metrics.check(.storeUnavailable, startedAt: started)
            // The sign-in path checks again and shows the 503 page: auth_request can only carry 2xx, 401 and 403.
            context.logger.debug("store unavailable", metadata: ["error": "\(error)"])
            return Self.unauthorized
        }
    }

    /// The check's 401, which nginx must never keep.
    static let unauthorized = notKept(.empty(.unauthorized))

    /// `response` with `X-Accel-Expires: 0`: nginx keeps no copy, whatever `fastcgi_cache_valid` says.
    static func notKept(_ response: HTTPResponse) -> HTTPResponse { response.adding(.xAccelExpires, "0") }
}
