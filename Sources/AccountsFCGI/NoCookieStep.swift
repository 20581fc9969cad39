import FastCGI
import SSOCore

/// Step 3: `noCookie` validates `redirectURL` against the service registry, then sends the browser on to `copyCookie`.
struct NoCookieStep: AccountsStep {
    let host: AccountsHost

    func respond(to request: HTTPRequest, context: RequestContext) throws -> HTTPResponse {
        guard let target = host.redirectTarget(request.query["redirectURL"]) else { return host.badRedirect() }
        return .redirect(to: "/copyCookie?redirectURL=" + PercentEncoding.encode(target.url))
    }
}
