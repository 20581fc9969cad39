import FastCGI
import SSOCore

/// Whether a signed-in request is the one a kept submission waits for: the only requests ever replayed. Decided by the
/// check (nginx: a 403 with `X-SSO-Route: replay`; Apache: `Variable-SSO_REPLAY`), so no other 403 and no other request
/// of the user's is ever sent to the replay step.
struct ReplayRoute: Sendable {
    let host: AppHost

    /// True when this request carries the replay cookie and one of its kept submissions is for this very request (same
    /// origin and URI), or is gone (expired: the replay step then says so on a page). One store read per id in the
    /// cookie (at most `ReplayCookie.limit`), only for requests that carry it.
    func waits(for request: HTTPRequest, replayCookie: String?, at site: Site, context: RequestContext) throws -> Bool {
        try waiting(for: request, ids: ReplayCookie.ids(replayCookie), at: site, context: context) != nil
    }

    /// Which of `ids` this request is for: the first whose kept submission is this request's, else the note that too
    /// many were sent from the client's address, else the first that is gone (entry nil). Nil when none.
    func waiting(for request: HTTPRequest, ids: [String], at site: Site,
                 context: RequestContext) throws -> (id: String, entry: CachedRequest?)? {
        guard host.cache.enabled, !ids.isEmpty else { return nil }
        var gone: String? = nil
        for id in ids where id != CaptureStep.tooManyFromAddress {
            guard let entry = try host.keptRequests(context).peek(id) else {
                gone = gone ?? id
                continue
            }
            if entry.uri == request.requestURI && entry.origin == site.origin.serialized { return (id, entry) }
        }
        if ids.contains(CaptureStep.tooManyFromAddress) { return (CaptureStep.tooManyFromAddress, nil) }
        return gone.map { ($0, nil) }
    }
}

extension HTTPHeaderName {
    /// The auth check's 403s say where nginx's `@sso_replay` should send them: `replay` (a kept submission waits for
    /// this request) or `page` (a page explains the refusal). Any other 403 stays the 403 it was.
    static let ssoRoute = known("X-SSO-Route")
    /// Apache mod_authnz_fcgi: the env var `SSO_REPLAY`, which routes the request to the replay step.
    static let variableSSOReplay = known("Variable-SSO_REPLAY")
}
