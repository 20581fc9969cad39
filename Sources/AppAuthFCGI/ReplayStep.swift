import FastCGI
import SSOCore

/// The user is signed in again and a kept submission waits behind the replay cookie: rebuild it and deliver it to the
/// app (`SSO_BACKEND`) exactly once, to the same browser and user only; or say on a page why it was not kept. Only the
/// request the check routed here (`ReplayRoute`) comes in; nothing else is ever sent to the app from here.
struct ReplayStep: AppStep {
    let host: AppHost
    let capture: CaptureStep

    func respond(to request: HTTPRequest, at site: Site, context: RequestContext) -> HTTPResponse {
        do {
            return try replay(request, at: site, context: context)
        } catch {
            context.logger.debug("store unavailable", metadata: ["error": "\(error)"])
            return host.unavailable(request, service: site.service, retryURL: site.origin.serialized + request.requestURI)
        }
    }

    private func replay(_ request: HTTPRequest, at site: Site, context: RequestContext) throws -> HTTPResponse {
        let service = site.service
        let outcome = try host.gate.outcome(of: request, at: site.origin, service: service, context: context)
        guard case .valid(let identity) = outcome else {
            if case .refused(.notRegistered) = outcome { return host.noAccess(service) }
            return host.startSignIn(request, cleanURL: site.origin.serialized + request.requestURI)
        }
        guard let backendText = request.params["SSO_BACKEND"], let backend = BackendAddress(parsing: backendText) else {
            context.logger.error("replay needs SSO_BACKEND (http://host:port or unix:/path) from the web server")
            return host.page.message(status: .badGateway, title: "Your submission could not be delivered",
                                     text: "This site is not set up to deliver kept submissions. Contact its administrator.")
        }
        let store = host.keptRequests(context)
        let ids = ReplayCookie.ids(request.cookie(host.cache.cookieName))
        let continueURL = site.origin.serialized + request.requestURI
        // The check routes only the requests it found a reason for here; anything else goes back to the web server.
        guard let waiting = try ReplayRoute(host: host).waiting(for: request, ids: ids, at: site, context: context) else {
            return retry(request)
        }
        let id = waiting.id
        // The cookie without this one: the others still wait for their own pages (other tabs).
        let clear = ReplayCookie.setCookie(name: host.cache.cookieName, ids: ids.filter { $0 != id }, ttl: host.cache.ttl)
        // Told: other tabs still naming it forget it without a page.
        let remember = host.cache.ttl + RequestCacheStore.receiptExtra
        let told = { try? store.finish(id, remember: remember) }
        // Delivered or explained already (by another tab): forget it, and on to the page.
        let forget = { retry(request).adding(.setCookie, clear) }
        switch waiting {
        case .kept: break
        case .tooMany:
            return notDelivered(service: service, continueURL: continueURL,
                                reason: "too many submissions from your network were already waiting").adding(.setCookie, clear)
        case .ranOut:
            context.logger.notice("kept submission expired", metadata: ["path": "\(request.path)"])
            context.metrics.dropped(.expired)
            return notDelivered(service: service, continueURL: continueURL,
                                reason: "it was kept for \(Self.duration(host.cache.ttl)), and that time ran out before you signed in again")
                .adding(.setCookie, clear)
        case .unknown:
            context.logger.notice("kept submission gone, and its receipt too", metadata: ["path": "\(request.path)"])
            context.metrics.dropped(.expired)
            return notDelivered(service: service, continueURL: continueURL,
                                reason: "it is no longer kept (its time ran out, or the server keeping it lost it)").adding(.setCookie, clear)
        case .lost:
            // Recorded only while still true (no replay claimed it or put it back since it was read): else look again.
            guard try store.settle(id, as: .lost, now: context.now, remember: remember) else { return retry(request) }
            context.logger.warning("kept submission lost by memcached before its time (evicted, or a server restarted)",
                                   metadata: ["path": "\(request.path)"])
            context.metrics.dropped(.expired)
            return notDelivered(service: service, continueURL: continueURL,
                                reason: "the server keeping it lost it before you signed in again").adding(.setCookie, clear)
        case .interrupted:
            guard try store.settle(id, as: .interrupted, now: context.now, remember: remember) else { return retry(request) }
            context.logger.warning("a replay of a kept submission was cut short", metadata: ["path": "\(request.path)"])
            context.metrics.dropped(.deliveryFailed)
            return maybeReceived(service: service).adding(.setCookie, clear)
        case .taken:
            // Delivered already (two replays answered at once left the cookie naming it).
            return forget()
        }
        let entry: CachedRequest, body: [UInt8]
        // Long enough for the app's whole answer: past it, a replay that never finished is told as cut short.
        let deadline = context.now + 2 * Int64(host.cache.backendTimeout) + 5
        switch try store.take(id, now: context.now, deadline: deadline) {
        case .entry(let taken, let bytes): (entry, body) = (taken, bytes)
        case .gone:
            // Taken a moment ago, or gone: the next request is answered by what its receipt says (the page as it is
            // while another replay has it). The cookie still names it.
            return retry(request)
        case .finished: return forget()  // delivered or explained a moment ago (another tab)
        case .busy:
            // Another tab or window has it claimed: never a redirect to itself (that would loop until its deadline).
            return beingDelivered(service: service)
        case .broken:
            told()
            return notDelivered(service: service, continueURL: continueURL, reason: "it could not be read back")
                .adding(.setCookie, clear)
        }
        capture.released(entry, context: context)
        if let dropped = entry.dropped {
            told()
            return notDelivered(service: service, continueURL: continueURL, reason: dropped).adding(.setCookie, clear)
        }
        guard entry.fingerprint == Fingerprint.of(request), let user = entry.user, user == identity.claims.sub else {
            context.metrics.dropped(.otherSignIn)
            context.logger.warning("kept submission refused: another browser or user", metadata: ["path": "\(request.path)",
                                                                                                  "user": "\(identity.claims.sub)"])
            told()
            return notDelivered(service: service, continueURL: continueURL,
                                reason: "it was made by another sign-in, so it was discarded").adding(.setCookie, clear)
        }
        var headers = entry.fields.filter { ReplayPolicy.isReplayed($0.name) }.map { BackendRequest.HeaderPair($0.name, bytes: $0.value) }
        headers += upstreamHeaders(request, identity: identity)
        do {
            let response = try host.backend.send(BackendRequest(method: entry.method, uri: entry.uri, headers: headers, body: body),
                                                 to: backend)
            context.metrics.kept(.delivered)
            context.logger.info("kept submission delivered", metadata: ["path": "\(request.path)", "status": "\(response.status.code)",
                                                                         "user": "\(identity.claims.sub)"])
            told()
            return response.adding(.setCookie, clear).adding(.cacheControl, "no-store")
        } catch {
            context.logger.error("replay failed", metadata: ["error": "\(error)"])
            guard error.beforeSending else {
                context.metrics.dropped(.deliveryFailed)
                told()
                return maybeReceived(service: service).adding(.setCookie, clear)
            }
            // Kept again for the time it had left (from when it was first kept), if any.
            let until = entry.until(ttl: host.cache.ttl)
            // Only while this replay's claim holds: past its deadline another tab may have told it as cut short, or
            // another replay may have it now.
            var recorded = false  // `done` written by the put-back itself, by compare-and-swap
            if until > context.now {
                switch try? store.putBack(entry, body: body, id: id, ttl: Int(until - context.now), until: until, claimedUntil: deadline) {
                case .kept?:
                    return host.page.message(status: .badGateway, title: "\(service.title) cannot be reached",
                                             text: "Your submission is still kept. Reload this page in a moment to deliver it.")
                case .elsewhere?: return beingDelivered(service: service)
                case .finished?: return forget()  // another tab settled it meanwhile
                case .dropped?: recorded = true
                case nil: break
                }
            }
            context.metrics.dropped(.expired)
            if !recorded { told() }
            return host.page.message(status: .badGateway, title: "\(service.title) cannot be reached",
                                     text: "Your submission was not delivered, and it could not be kept any longer. "
                                         + "Nothing was sent to \(service.title). Please send it again later.").adding(.setCookie, clear)
        }
    }

    /// Another tab or window's replay has the submission: reload in a moment (503, `Retry-After: 5`).
    private func beingDelivered(service: Service) -> HTTPResponse {
        host.page.message(status: .serviceUnavailable, title: "Your submission is being delivered",
                          text: "Another tab or window of this browser is delivering the form you sent to \(service.title). "
                              + "Reload this page in a moment.").adding(.retryAfter, "5")
    }

    /// "Sent, but no answer came back": the app may or may not have it.
    private func maybeReceived(service: Service) -> HTTPResponse {
        host.page.message(status: .badGateway, title: "\(service.title) did not answer",
                          text: "Your submission was sent but no answer came back, so it may or may not have been received. "
                              + "Check in \(service.title) before sending it again.")
    }

    /// `seconds` as a person says it: "90 seconds", "10 minutes".
    static func duration(_ seconds: Int) -> String {
        seconds < 120 ? "\(seconds) seconds" : "\(seconds / 60) minutes"
    }

    /// A request that is not the kept submission's own: never relayed from here. A GET or HEAD is sent round again (the
    /// check lets it through this time); other methods are told to send again, since their body cannot follow a redirect.
    private func retry(_ request: HTTPRequest) -> HTTPResponse {
        if request.method == "GET" || request.method == "HEAD" { return .redirect(to: request.requestURI) }
        return host.page.message(status: .conflict, title: "Please send this again",
                                 text: "Your request could not be delivered. Go back and send it again.")
    }

    /// What the web server's proxy would add: host, forwarding headers (the address it saw, the host and scheme asked
    /// for; never the client's own), the identity, the browser's current cookies (without the SSO's own, as the web
    /// server sends them).
    private func upstreamHeaders(_ request: HTTPRequest, identity: SessionCheck.Identity) -> [BackendRequest.HeaderPair] {
        let hostHeader = request.header("Host") ?? ""
        var out = [BackendRequest.HeaderPair("Host", hostHeader)]
        if !request.remoteAddress.isEmpty { out.append(.init("X-Forwarded-For", request.remoteAddress)) }
        if !hostHeader.isEmpty { out.append(.init("X-Forwarded-Host", hostHeader)) }
        out.append(.init("X-Forwarded-Proto", request.isHTTPS ? "https" : "http"))
        out.append(.init("X-Remote-User", identity.claims.sub))
        out.append(.init("X-Remote-Email", identity.claims.email))
        out.append(.init("X-Remote-Name", identity.claims.name))
        let sso = host.config.appHostCookieNames.map { $0 + "=" }
        let cookies = (request.header("Cookie") ?? "").split(separator: ";").map { $0.trimmingSpaces }
            .filter { pair in !pair.isEmpty && !sso.contains { pair.hasPrefix($0) } }
        if !cookies.isEmpty { out.append(.init("Cookie", cookies.joined(separator: "; "))) }
        return out
    }

    private func notDelivered(service: Service, continueURL: String, reason: String) -> HTTPResponse {
        host.page.message(status: .ok, title: "Your submission was not kept",
                          text: "You are signed in again, but the form you sent to \(service.title) before signing in was not delivered: "
                              + "\(reason). Nothing was sent to \(service.title). Please fill it in and send it again.",
                          link: ("Continue to \(service.title)", continueURL))
    }
}
