import FastCGI
import SSOCore

/// The accounts host's front page: the sign-in form, or who is signed in and links to their applications.
struct LandingStep: AccountsStep {
    let host: AccountsHost

    func respond(to request: HTTPRequest, context: RequestContext) throws -> HTTPResponse {
        guard case .valid(let identity) = try host.session(request, context: context) else {
            return try host.form(request, target: nil, service: nil, status: .ok, message: nil)
        }
        let services = identity.claims.svc.compactMap { host.config.registry.service(named: $0) }
        var content = "<h1>You are signed in</h1>\n<p>as <span class=\"target\">\(HTML.escape(identity.claims.name))</span> (\(HTML.escape(identity.claims.sub)))</p>\n"
        if !services.isEmpty {
            content += "<p>Your applications:</p>\n<ul class=\"links\">\n"
            for s in services {
                if let origin = s.origins.first {
                    content += "<li><a href=\"\(HTML.escape(origin.serialized))/\">\(HTML.escape(s.title))</a></li>\n"
                }
            }
            content += "</ul>\n"
        }
        content += "<a class=\"button\" href=\"/logout\">Sign out</a>\n"
        return host.page.render(status: .ok, title: "Signed in", content: content)
    }
}
