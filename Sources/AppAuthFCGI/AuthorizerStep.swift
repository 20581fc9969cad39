import FastCGI
import SSOCore

/// Apache mod_authnz_fcgi's AUTHORIZER role: the check and the sign-in path in one answer. A valid session answers 200
/// with `Variable-SSO_*` (Apache turns them into env vars and the identity headers); anything else is the sign-in
/// path's answer, which Apache sends to the browser as it is.
struct AuthorizerStep: AppStep {
    let host: AppHost
    let signIn: SignInStep

    func respond(to request: HTTPRequest, at site: Site, context: RequestContext) -> HTTPResponse {
        // A requestID is redeemed by the sign-in path.
        if !request.carriesRequestID {
            do {
                if case .valid(let identity) = try host.gate.outcome(of: request, service: site.service, context: context) {
                    return HTTPResponse(status: .ok)
                        .adding(.variableSSOUser, identity.claims.sub)
                        .adding(.variableSSOEmail, identity.claims.email)
                        .adding(.variableSSOName, identity.claims.name)
                }
            } catch {
                // Fail closed with the 503 page, never the sign-in path: the session may well be valid.
                context.logger.debug("store unavailable", metadata: ["error": "\(error)"])
                return host.unavailable(request, service: site.service, retryURL: site.origin.serialized + request.requestURI)
            }
        }
        return signIn.respond(to: request, at: site, context: context)
    }
}
