import FastCGI
import SSOCore

/// Whether a signed-in request is the one a kept submission waits for: the only requests ever replayed. Decided by the
/// check (nginx: a 403 with `X-SSO-Route: replay`; Apache: `Variable-SSO_REPLAY`), so no other 403 and no other request
/// of the user's is ever sent to the replay step.
struct ReplayRoute: Sendable {
    let host: AppHost

    /// True when this request carries the replay cookie and its kept submission is for this very request (same origin
    /// and URI), or is gone (expired or delivered: the replay step then says so on a page and clears the cookie).
    /// One more store read, only for requests that carry the replay cookie.
    func waits(for request: HTTPRequest, replayCookie: String?, at site: Site, context: RequestContext) throws -> Bool {
        guard host.cache.enabled, let id = replayCookie else { return false }
        if id == CaptureStep.tooManyFromAddress { return true }
        guard let entry = try host.keptRequests(context).peek(id) else { return true }
        return entry.uri == request.requestURI && entry.origin == site.origin.serialized
    }
}

extension HTTPHeaderName {
    /// The auth check's 403s say where nginx's `@sso_replay` should send them: `replay` (a kept submission waits for
    /// this request) or `page` (a page explains the refusal). Any other 403 stays the 403 it was.
    static let ssoRoute = known("X-SSO-Route")
    /// Apache mod_authnz_fcgi: the env var `SSO_REPLAY`, which routes the request to the replay step.
    static let variableSSOReplay = known("Variable-SSO_REPLAY")
}
