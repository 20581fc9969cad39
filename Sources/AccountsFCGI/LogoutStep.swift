import FastCGI
import SSOCore
import SSOCrypto

/// Logout: deletes the session from the store, so every host's cookie fails at its next check, on every domain.
/// A GET only shows the button; the POST must carry that page's CSRF token, so no other site can sign a user out.
struct LogoutStep: AccountsStep {
    let host: AccountsHost

    /// `GET /logout`: a page with the sign-out button (a form posting back with the browser's CSRF token).
    func page(_ request: HTTPRequest, context: RequestContext) throws -> HTTPResponse {
        let redirect = request.query["redirectURL"].flatMap { host.redirectTarget($0) }
        let csrf = try host.csrfToken(request)
        let content = """
        <h1>Sign out?</h1>
        <p>You will be signed out of every application that uses \(HTML.escape(host.config.branding.productName)).</p>
        <form method="post" action="/logout">
        <input type="hidden" name="csrf" value="\(HTML.escape(csrf))">
        <input type="hidden" name="redirectURL" value="\(HTML.escape(redirect?.url ?? ""))">
        <button type="submit">Sign out</button>
        </form>

        """
        return host.page.render(status: .ok, title: "Sign out", content: content)
            .adding(.setCookie, Cookies.setCookie(name: host.config.csrfCookieName, value: csrf, maxAge: 1800))
    }

    /// `POST /logout`.
    func respond(to request: HTTPRequest, context: RequestContext) throws -> HTTPResponse {
        let fields = FormFields(body: request.body)
        let csrfCookie = request.cookie(host.config.csrfCookieName) ?? ""
        guard !csrfCookie.isEmpty, Digest.constantTimeEqual(Array(csrfCookie.utf8), Array((fields["csrf"] ?? "").utf8)) else {
            context.logger.notice("sign-out refused: expired or forged form", metadata: ["remote": "\(request.remoteAddress)"])
            return try page(request, context: context).with(status: .forbidden)
        }
        if let token = request.cookie(host.gate.cookieName),
           let claims = try? host.gate.check.codec.verify(token, now: context.now, host: host.config.accountsURL.serialized) {
            try host.gate.store(context).deleteSession(claims.jti)
            context.logger.info("signed out", metadata: ["user": "\(claims.sub)"])
            host.audit.record("signout", [("user", claims.sub), ("client", request.remoteAddress),
                                          ("session", String(claims.jti.prefix(8)))], now: context.now)
        }
        let clear = Cookies.setCookie(name: host.gate.cookieName, value: "", maxAge: 0)
        let clearCSRF = Cookies.setCookie(name: host.config.csrfCookieName, value: "", maxAge: 0)
        if let text = fields["redirectURL"], !text.isEmpty, let target = host.redirectTarget(text) {
            return HTTPResponse.redirect(to: target.url, status: .seeOther).adding(.setCookie, clear).adding(.setCookie, clearCSRF)
        }
        return host.page.message(status: .ok, title: "You are signed out",
                                 text: "You have been signed out of every application. Close the browser if you share this computer.",
                                 link: ("Sign in again", "/login"), isError: false)
            .adding(.setCookie, clear).adding(.setCookie, clearCSRF)
    }
}
