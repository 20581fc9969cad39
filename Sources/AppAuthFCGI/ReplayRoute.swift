import FastCGI
import SSOCore

/// Whether a signed-in request is the one a kept submission waits for: the only requests ever replayed. Decided by the
/// check (nginx: a 403 with `X-SSO-Route: replay`; Apache: `Variable-SSO_REPLAY`), so no other 403 and no other request
/// of the user's is ever sent to the replay step.
struct ReplayRoute: Sendable {
    let host: AppHost

    /// True when this request is a page the browser opens (`isPageNavigation`), carries the replay cookie, and one of
    /// its kept submissions is for this very request (same origin and URI), or there is something to say about one (too
    /// many were sent, one ran out, or one was finished and the cookie must forget it). Store reads only for such
    /// requests: one per id in the cookie (at most `ReplayCookie.limit`), one more (its receipt) when one is gone. Any
    /// other request (a form sent now, an API call, an embedded frame or image, a HEAD) is its own; the kept one waits.
    func waits(for request: HTTPRequest, replayCookie: String?, at site: Site, context: RequestContext) throws -> Bool {
        try waiting(for: request, ids: ReplayCookie.ids(replayCookie), at: site, context: context) != nil
    }

    /// What this request is routed to the replay step for, if anything.
    enum Waiting {
        /// The kept submission of this very request.
        case kept(id: String, entry: CachedRequest)
        /// Nothing was kept: too many submissions from the client's address.
        case tooMany
        /// Its time ran out before the user signed in.
        case ranOut(id: String)
        /// memcached lost it before its time (evicted, or its server restarted).
        case lost(id: String)
        /// Gone, and nothing says how (its receipt was lost too): run out, or lost.
        case unknown(id: String)
        /// A replay's program died while the app had it: it may or may not have arrived.
        case interrupted(id: String)
        /// Delivered or explained already: only the cookie still names it.
        case taken(id: String)

        var id: String {
            switch self {
            case .kept(let id, _), .ranOut(let id), .lost(let id), .unknown(let id), .interrupted(let id), .taken(let id): id
            case .tooMany: CaptureStep.tooManyFromAddress
            }
        }
    }

    /// Which of `ids` this page is for: the first whose kept submission is this request's; else the note that too many
    /// were sent, then what became of the first one gone (run out, lost, unknown, interrupted, or finished; nothing while
    /// another replay has it).
    /// Nil when none, or when the request is no page the browser opens.
    func waiting(for request: HTTPRequest, ids: [String], at site: Site, context: RequestContext) throws -> Waiting? {
        guard host.cache.enabled, !ids.isEmpty, request.isPageNavigation else { return nil }
        let store = host.keptRequests(context)
        let isThisPage = { (entry: CachedRequest) in entry.uri == request.requestURI && entry.origin == site.origin.serialized }
        var gone: [String] = []
        for id in ids where id != CaptureStep.tooManyFromAddress {
            guard let entry = try store.peek(id) else {
                gone.append(id)
                continue
            }
            if isThisPage(entry) { return .kept(id: id, entry: entry) }
        }
        if ids.contains(CaptureStep.tooManyFromAddress) { return .tooMany }
        guard let first = gone.first else { return nil }
        switch try store.fate(first, now: context.now) {
        case .ranOut: return .ranOut(id: first)
        case .unknown: return .unknown(id: first)
        case .lost:
            // The peek above can come before a put-back (a replay that could not reach the app) whose receipt this read
            // then sees: only a submission still gone now is lost.
            guard let entry = try store.peek(first) else { return .lost(id: first) }
            return isThisPage(entry) ? .kept(id: first, entry: entry) : nil
        case .interrupted: return .interrupted(id: first)
        case .finished: return .taken(id: first)
        case .inFlight: return nil  // another tab is delivering it; if that fails it is put back for this one
        }
    }
}

extension HTTPHeaderName {
    /// The auth check's 403s say where nginx's `@sso_replay` should send them: `replay` (a kept submission waits for
    /// this request) or `page` (a page explains the refusal). Any other 403 stays the 403 it was.
    static let ssoRoute = known("X-SSO-Route")
    /// Apache mod_authnz_fcgi: the env var `SSO_REPLAY`, which routes the request to the replay step.
    static let variableSSOReplay = known("Variable-SSO_REPLAY")
}
