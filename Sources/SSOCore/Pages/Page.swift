import FastCGI
import SSOCrypto

/// A full HTML page as a response: shared layout and style, a fresh CSP nonce, no caching, no framing.
public struct Page: Sendable {
    /// Branding from the config.
    public let branding: SSOConfig.Branding
    /// Origins a form on this page may be redirected to after submission (CSP `form-action`).
    public let formTargets: [Origin]

    public init(branding: SSOConfig.Branding, formTargets: [Origin] = []) {
        self.branding = branding
        self.formTargets = formTargets
    }

    /// Renders `title` and `content` (already-escaped HTML) with `status`.
    public func render(status: HTTPStatus, title: String, content: String) -> HTTPResponse {
        let nonce = (try? SecureRandom.token(byteCount: 16)) ?? "static-nonce-unavailable"
        let logo = branding.logoURL.isEmpty
            ? "<div class=\"logo\" aria-hidden=\"true\">\(HTML.escape(String(branding.productName.prefix(1))))</div>"
            : "<img class=\"logo-img\" src=\"\(HTML.escape(branding.logoURL))\" alt=\"\">"
        let html = """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(HTML.escape(title)) · \(HTML.escape(branding.productName))</title>
        <style nonce="\(nonce)">\(PageStyle.css(accent: branding.accentColor))</style>
        </head>
        <body>
        <main>
        <div class="brand">\(logo)<span class="product">\(HTML.escape(branding.productName))</span></div>
        \(content)
        </main>
        </body>
        </html>

        """
        let formAction = (["'self'"] + formTargets.map(\.serialized)).joined(separator: " ")
        return HTTPResponse(status: status, body: Array(html.utf8))
            .adding(.contentType, "text/html; charset=utf-8")
            .adding(.cacheControl, "no-store")
            .adding(.contentSecurityPolicy,
                    "default-src 'none'; style-src 'nonce-\(nonce)'; img-src 'self' data:; form-action \(formAction); "
                    + "frame-ancestors 'none'; base-uri 'none'")
            .adding(.xContentTypeOptions, "nosniff")
            .adding(.xFrameOptions, "DENY")
            .adding(.referrerPolicy, "no-referrer")
    }

    /// A page with a heading, a message and an optional link button.
    public func message(status: HTTPStatus, title: String, text: String, link: (label: String, href: String)? = nil,
                        isError: Bool = true) -> HTTPResponse {
        var content = "<h1>\(HTML.escape(title))</h1>\n"
        content += isError
            ? "<div class=\"alert\" role=\"alert\" aria-live=\"assertive\">\(HTML.escape(text))</div>\n"
            : "<p>\(HTML.escape(text))</p>\n"
        if let link { content += "<a class=\"button\" href=\"\(HTML.escape(link.href))\">\(HTML.escape(link.label))</a>\n" }
        return render(status: status, title: title, content: content)
    }

    /// The sign-in form. `target` names the service the user is going to; `message` is an error announced to screen readers.
    public func login(status: HTTPStatus, target: String?, redirectURL: String?, state: String? = nil, csrf: String, username: String = "",
                      message: String? = nil) -> HTTPResponse {
        var content = "<h1>Sign in</h1>\n"
        if let target {
            content += "<p>to continue to <span class=\"target\">\(HTML.escape(target))</span></p>\n"
        } else {
            content += "<p>with your \(HTML.escape(branding.productName)) account</p>\n"
        }
        content += "<div class=\"alert\" id=\"form-error\" role=\"alert\" aria-live=\"assertive\">\(HTML.escape(message ?? ""))</div>\n"
        let describedBy = message == nil ? "" : " aria-describedby=\"form-error\" aria-invalid=\"true\""
        content += """
        <form method="post" action="/login" novalidate>
        <input type="hidden" name="csrf" value="\(HTML.escape(csrf))">
        <input type="hidden" name="redirectURL" value="\(HTML.escape(redirectURL ?? ""))">
        <input type="hidden" name="state" value="\(HTML.escape(state ?? ""))">
        <label for="username">User name</label>
        <input type="text" id="username" name="username" value="\(HTML.escape(username))" autocomplete="username"
          autocapitalize="none" spellcheck="false" required\(username.isEmpty ? " autofocus" : "")\(describedBy)>
        <label for="password">Password</label>
        <input type="password" id="password" name="password" autocomplete="current-password" required\(username.isEmpty ? "" : " autofocus")\(describedBy)>
        <button type="submit">Sign in</button>
        </form>

        """
        return render(status: status, title: "Sign in", content: content)
    }
}
