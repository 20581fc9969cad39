import FastCGI
import SSOCore

/// Logout: deletes the session from the store, so every host's cookie fails at its next check, on every domain.
struct LogoutStep: AccountsStep {
    let host: AccountsHost

    func respond(to request: HTTPRequest, context: RequestContext) throws -> HTTPResponse {
        if let token = request.cookie(host.gate.cookieName),
           let claims = try? host.gate.check.codec.verify(token, now: context.now, host: host.config.accountsURL.serialized) {
            try host.gate.store(context).deleteSession(claims.jti)
            context.logger.info("signed out", metadata: ["user": "\(claims.sub)"])
        }
        let clear = Cookies.setCookie(name: host.gate.cookieName, value: "", maxAge: 0)
        if let text = request.query["redirectURL"], let target = host.redirectTarget(text) {
            return HTTPResponse.redirect(to: target.url).adding(.setCookie, clear)
        }
        return host.page.message(status: .ok, title: "You are signed out",
                                 text: "You have been signed out of every application. Close the browser if you share this computer.",
                                 link: ("Sign in again", "/login"), isError: false)
            .adding(.setCookie, clear)
    }
}
