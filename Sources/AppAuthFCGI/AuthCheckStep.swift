import FastCGI
import SSOCore

/// nginx's `auth_request` oracle: 200 with the identity headers, or 401. Empty bodies; one store read on the common path.
/// A signed-in request carrying the replay cookie answers 403, which nginx routes to `@sso_replay`.
struct AuthCheckStep: AppStep {
    let host: AppHost

    func respond(to request: HTTPRequest, at site: Site, context: RequestContext) -> HTTPResponse {
        // A requestID in the URL always goes through the sign-in path, which redeems it and removes it from the address.
        if request.carriesRequestID { return .empty(.unauthorized) }
        do {
            // The session cookie and the replay cookie, read in one pass over the Cookie header.
            let (token, replay) = request.cookies(host.gate.cookieName, host.cache.cookieName)
            switch try host.gate.outcome(of: request, token: .some(token), service: site.service, context: context) {
            case .valid(let identity):
                if host.cache.enabled && replay != nil { return .empty(.forbidden) }
                return HTTPResponse(status: .ok)
                    .adding(.xRemoteUser, identity.claims.sub)
                    .adding(.xRemoteEmail, identity.claims.email)
                    .adding(.xRemoteName, identity.claims.name)
            case .refused(let why):
                context.logger.debug("check refused", metadata: ["reason": "\(why.rawValue)"])
                return .empty(.unauthorized)
            }
        } catch {
            // The sign-in path checks again and shows the 503 page: auth_request can only carry 2xx, 401 and 403.
            context.logger.debug("store unavailable", metadata: ["error": "\(error)"])
            return .empty(.unauthorized)
        }
    }
}
