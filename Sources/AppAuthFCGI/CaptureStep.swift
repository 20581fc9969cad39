import FastCGI
import SSOCore
import SSOCrypto

/// Keeping a submission across re-authentication (the WebSEAL seed): a form sent after the session ended is kept in
/// memcached, bound to this browser by the replay cookie and to the user of the expired session. nginx keeps it in
/// `@sso_signin` (which has the body); Apache's authorizer answers 307 to `/_sso/capture`, where the browser re-sends
/// the body and this step answers.
struct CaptureStep: AppStep {
    let host: AppHost

    /// True when this request should be kept rather than lost on the way to sign-in.
    func shouldCapture(_ request: HTTPRequest) -> Bool {
        host.cache.enabled && ReplayPolicy.methods.contains(request.method) && !request.isAPIRequest
    }

    /// Where Apache's authorizer sends a form to be kept (sso-replay.conf proxies it, and every path Apache maps to its
    /// `<Location>`, here with `SSO_ACTION capture`).
    static let path = "/_sso/capture"

    /// Apache's `/_sso/capture?to=<path>`: the browser re-sent its form here after the authorizer's 307.
    func respond(to request: HTTPRequest, at site: Site, context: RequestContext) -> HTTPResponse {
        guard request.path == Self.path else {
            return host.page.message(status: .notFound, title: "This page does not exist",
                                     text: "There is nothing at this address.", link: ("Go to \(site.service.title)", site.origin.serialized + "/"))
        }
        guard let to = request.query["to"], to.hasPrefix("/"), !to.hasPrefix("//"), !to.hasPrefix("/\\"),
              to.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F && $0 != "\\" }) else {
            return host.page.message(status: .badRequest, title: "This link cannot be used", text: "The address to return to is not valid.")
        }
        guard shouldCapture(request) else { return .redirect(to: site.origin.serialized + to) }
        do {
            let cookie = try keep(request, uri: to, at: site, context: context)
            return host.startSignIn(request, cleanURL: site.origin.serialized + to, status: .seeOther).adding(.setCookie, cookie)
        } catch {
            context.logger.debug("store unavailable", metadata: ["error": "\(error)"])
            return host.unavailable(request, service: site.service, retryURL: site.origin.serialized + request.requestURI)
        }
    }

    /// The replay cookie's value when nothing at all was stored: too many submissions from the client's address.
    static let tooManyFromAddress = ReplayCookie.tooMany
    /// The counters of waiting submissions, per client address and per user.
    static let addressScope = "cap-ip", userScope = "cap-user"

    /// A kept submission was taken (delivered, or explained): it no longer counts against its user and address.
    func released(_ entry: CachedRequest, context: RequestContext) {
        let counters = host.gate.store(context)
        if let client = entry.client {
            _ = try? counters.kv.decrement(counters.throttleKey(scope: Self.addressScope, subject: client), by: 1)
        }
        if let user = entry.user {
            _ = try? counters.kv.decrement(counters.throttleKey(scope: Self.userScope, subject: user), by: 1)
        }
    }

    /// Keeps `request` (or, when it cannot be kept, a note saying why) and returns the replay cookie binding it to this
    /// browser. `uri` is where the request was going. Bounded: at most `max_per_address` records per client address and
    /// `max_per_user` kept bodies per user within the ttl, so a flood cannot fill memcached and push sessions out.
    func keep(_ request: HTTPRequest, uri: String, at site: Site, context: RequestContext) throws -> String {
        let cache = host.cache
        let counters = host.gate.store(context)
        let client = ClientAddress.throttleKey(request.remoteAddress)
        let fromAddress = try counters.countEvent(scope: Self.addressScope, subject: client, window: cache.ttl)
        guard fromAddress <= UInt64(cache.maxPerAddress) else {
            context.logger.warning("submission not kept: too many from this address", metadata: ["remote": "\(request.remoteAddress)"])
            context.metrics.dropped(.tooManyFromAddress)
            return replayCookie(request, adding: Self.tooManyFromAddress)
        }
        let contentType = request.header("Content-Type")
        // The user of the expired session: a token signed for this very host, whatever its times.
        let user = request.cookie(host.gate.cookieName).flatMap { try? host.gate.check.codec.verifySignature($0) }
            .flatMap { $0.aud.contains(site.origin.serialized) ? $0.sub : nil }
        var dropped: String? = nil
        var reason: DropReason? = nil
        if let user, try counters.countEvent(scope: Self.userScope, subject: user, window: cache.ttl) > UInt64(cache.maxPerUser) {
            dropped = "\(cache.maxPerUser) of your submissions were already waiting for you to sign in"
            reason = .tooManyForUser
        } else if !ReplayPolicy.isSameOrigin(request, origin: site.origin) {
            dropped = "it was not sent from a page of this site"
            reason = .crossOrigin
        } else if user == nil {
            dropped = "it could not be tied to your earlier sign-in"
            reason = .noUser
        } else if request.bodyOmitted || request.body.count > cache.maxBodyBytes {
            dropped = "it was larger than the \(ReplayPolicy.size(cache.maxBodyBytes)) that can be kept"
            reason = .tooLarge
        } else if !ReplayPolicy.isReplayable(contentType: contentType, bodyLength: request.body.count) {
            dropped = "its type (\(contentType ?? "none")) cannot be kept"
            reason = .contentType
        }
        let headers = ReplayPolicy.keptHeaders(request)
        let entrySize = request.body.count + uri.utf8.count + headers.reduce(0) { $0 + $1.joined().utf8.count }
        if dropped == nil && entrySize > cache.maxEntryBytes {
            dropped = "it was larger than the \(ReplayPolicy.size(cache.maxEntryBytes)) that can be kept"
            reason = .tooLarge
        }
        let body = dropped == nil ? request.body : []
        var entry = CachedRequest(method: request.method, uri: uri, origin: site.origin.serialized, headers: dropped == nil ? headers : [],
                                  bodyLength: body.count, bodySHA256: Digest.sha256Hex(body), user: user,
                                  fingerprint: Fingerprint.of(request), created: context.now, dropped: dropped, parts: 0)
        entry.client = client
        let id = try SecureRandom.token()
        try host.keptRequests(context).put(entry, body: body, id: id, ttl: cache.ttl)
        if let reason { context.metrics.dropped(reason) } else { context.metrics.kept(.kept) }
        if let dropped {
            context.logger.notice("submission not kept", metadata: ["path": "\(request.path)", "reason": "\(dropped)"])
        } else {
            context.logger.info("submission kept for replay", metadata: ["path": "\(request.path)", "bytes": "\(body.count)",
                                                                          "user": "\(user ?? "-")"])
        }
        return replayCookie(request, adding: id)
    }

    /// The replay cookie naming the submissions this browser already waits for (kept in other tabs) and `id`.
    private func replayCookie(_ request: HTTPRequest, adding id: String) -> String {
        let waiting = ReplayCookie.ids(request.cookie(host.cache.cookieName)).filter { $0 != id }
        return ReplayCookie.setCookie(name: host.cache.cookieName, ids: waiting + [id], ttl: host.cache.ttl)
    }
}
