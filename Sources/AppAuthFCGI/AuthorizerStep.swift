import FastCGI
import SSOCore

/// Apache mod_authnz_fcgi's AUTHORIZER role: the check and the sign-in path in one answer. A valid session answers 200
/// with `Variable-SSO_*` (Apache turns them into env vars and the identity headers), and `Variable-SSO_REPLAY` for the
/// one request a kept submission waits for (sso-protect.conf routes it to the replay step); a store that cannot answer
/// is the 503 page; anything else is the sign-in path's answer, which Apache sends to the browser as it is.
struct AuthorizerStep: AppStep {
    let host: AppHost
    let signIn: SignInStep
    let route: ReplayRoute

    func respond(to request: HTTPRequest, at site: Site, context: RequestContext) -> HTTPResponse {
        // A requestID is redeemed by the sign-in path.
        if !request.carriesRequestID {
            let started = SSOMetrics.now()
            do {
                let outcome = try host.gate.outcome(of: request, at: site.origin, service: site.service, context: context)
                if case .refused(let why) = outcome { context.metrics.check(CheckResult(why), startedAt: started) }
                if case .valid(let identity) = outcome {
                    context.metrics.check(.valid, startedAt: started)
                    // A store hiccup while looking for a kept submission lets the request through as it is; the next one retries.
                    let replay = (try? route.waits(for: request, replayCookie: request.cookie(host.cache.cookieName), at: site,
                                                   context: context)) ?? false
                    var answer = HTTPResponse(status: .ok)
                        .adding(.variableSSOUser, identity.claims.sub)
                        .adding(.variableSSOEmail, identity.claims.email)
                        .adding(.variableSSOName, identity.claims.name)
                    if replay { answer.add(.variableSSOReplay, "1") }
                    return answer
                }
            } catch {
                context.metrics.check(.storeUnavailable, startedAt: started)
                // Fail closed with the 503 page, never the sign-in path: the session may well be valid.
                context.logger.debug("store unavailable", metadata: ["error": "\(error)"])
                return Self.labelled(host.unavailable(request, service: site.service, retryURL: site.origin.serialized + request.requestURI))
            }
        }
        return Self.labelled(signIn.respond(to: request, at: site, context: context))
    }

    /// A refusal as Apache must send it: mod_authnz_fcgi passes its status, headers and body on, but Apache labels the
    /// body `text/html; charset=iso-8859-1`. Its real type goes in `X-SSO-Content-Type` for sso-protect.conf to restore.
    /// Parity is tested through both servers (e2e/http/test_apache_parity.py).
    static func labelled(_ answer: HTTPResponse) -> HTTPResponse {
        guard answer.status != .ok else { return answer }
        var out = answer
        if let type = answer.header(.contentType) {
            out.add(.xSSOContentType, type)
        }
        return out
    }
}
