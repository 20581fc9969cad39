import FastCGI
import SSOCore

/// Step 3: `noCookie` validates `redirectURL` against the service registry, then sends the browser on to `copyCookie`
/// with the app host's `state`.
struct NoCookieStep: AccountsStep {
    let host: AccountsHost

    func respond(to request: HTTPRequest, context: RequestContext) throws -> HTTPResponse {
        guard let target = host.redirectTarget(request.query["redirectURL"]) else { return host.badRedirect() }
        return .redirect(to: host.copyCookieURL(target, state: host.state(request.query["state"])))
    }
}
