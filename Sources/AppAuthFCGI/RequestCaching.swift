import Shared

/// Server-side request caching across re-authentication (the WebSEAL seed): a form submitted after the session ended is
/// kept in memcached, the user signs in, and the original request is rebuilt and delivered to the app exactly once.
/// nginx: capture in `@sso_signin` (it has the body); replay in `@sso_replay` (the check answers 403 when a kept request
/// waits). Apache: the authorizer answers 307 to `/_sso/capture` (the browser re-sends the body there); replay through a
/// `mod_rewrite` rule on the replay cookie. Either way AppAuthFCGI sends the rebuilt request to `SSO_BACKEND`.
extension AppAuthResponder {
    var cache: SSOConfig.RequestCache { config.requestCache }

    /// True when this request should be kept rather than lost on the way to sign-in.
    func shouldCapture(_ request: HTTPRequest) -> Bool {
        cache.enabled && ReplayPolicy.methods.contains(request.method) && !request.isAPIRequest
    }

    /// Keeps `request` (or, when it cannot be kept, a note saying why) and returns the replay cookie binding it to this
    /// browser. `uri` is where the request was going.
    func capture(_ request: HTTPRequest, uri: String, origin: Origin, context: RequestContext,
                 store: RequestCacheStore) throws -> String {
        let contentType = request.header("Content-Type")
        let user = request.cookie(config.cookieName).flatMap { try? check.codec.verifySignature($0) }?.sub
        var dropped: String? = nil
        if !ReplayPolicy.isSameOrigin(request, origin: origin) {
            dropped = "it was not sent from a page of this site"
        } else if user == nil {
            dropped = "it could not be tied to your earlier sign-in"
        } else if request.bodyOmitted || request.body.count > cache.maxBodyBytes {
            dropped = "it was larger than the \(ReplayPolicy.size(cache.maxBodyBytes)) that can be kept"
        } else if !ReplayPolicy.isReplayable(contentType: contentType, bodyLength: request.body.count) {
            dropped = "its type (\(contentType ?? "none")) cannot be kept"
        }
        let headers = ReplayPolicy.keptHeaders(request)
        let entrySize = request.body.count + uri.utf8.count + headers.reduce(0) { $0 + $1.joined().utf8.count }
        if dropped == nil && entrySize > cache.maxEntryBytes {
            dropped = "it was larger than the \(ReplayPolicy.size(cache.maxEntryBytes)) that can be kept"
        }
        let body = dropped == nil ? request.body : []
        let entry = CachedRequest(method: request.method, uri: uri, origin: origin.serialized, headers: dropped == nil ? headers : [],
                                  bodyLength: body.count, bodySHA256: Digest.sha256Hex(body), user: user,
                                  fingerprint: Fingerprint.of(request), created: context.now, dropped: dropped, parts: 0)
        let id = try SecureRandom.token()
        try store.put(entry, body: body, id: id, ttl: cache.ttl)
        if let dropped {
            context.logger.notice("submission not kept", metadata: ["path": "\(request.path)", "reason": "\(dropped)"])
        } else {
            context.logger.info("submission kept for replay", metadata: ["path": "\(request.path)", "bytes": "\(body.count)",
                                                                          "user": "\(user ?? "-")"])
        }
        // The cookie outlives the entry by an hour, so a user who signs in too late is told, not silently dropped.
        return Cookies.setCookie(name: cache.cookieName, value: id, maxAge: cache.ttl + 3600)
    }

    /// Apache's `/_sso/capture?to=<path>`: the browser re-sent its form here after the authorizer's 307.
    func captureEndpoint(_ request: HTTPRequest, origin: Origin, context: RequestContext) throws -> HTTPResponse {
        guard let to = request.query["to"], to.hasPrefix("/"), !to.hasPrefix("//"), !to.hasPrefix("/\\"),
              to.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F && $0 != "\\" }) else {
            return page.message(status: 400, title: "This link cannot be used", text: "The address to return to is not valid.")
        }
        guard shouldCapture(request) else { return .redirect(to: origin.serialized + to) }
        let store = RequestCacheStore(kv: context.store, prefix: config.keyPrefix)
        let cookie = try capture(request, uri: to, origin: origin, context: context, store: store)
        return startSignIn(request, cleanURL: origin.serialized + to, status: 303).adding("Set-Cookie", cookie)
    }

    /// The rebuilt request: the user is signed in again and a kept request waits behind the replay cookie.
    func replay(_ request: HTTPRequest, origin: Origin, service: Service, context: RequestContext,
                sessions: SessionStore) throws -> HTTPResponse {
        let outcome = try check.check(token: request.cookie(config.cookieName), fingerprint: Fingerprint.of(request),
                                      service: service.name, now: context.now, store: sessions)
        guard case .valid(let identity) = outcome else {
            if case .refused(.notRegistered) = outcome { return noAccess(service) }
            return startSignIn(request, cleanURL: origin.serialized + request.requestURI)
        }
        guard let backendText = request.params["SSO_BACKEND"], let backend = BackendAddress(parsing: backendText) else {
            context.logger.error("replay needs SSO_BACKEND (http://host:port or unix:/path) from the web server")
            return page.message(status: 502, title: "Your submission could not be delivered",
                                text: "This site is not set up to deliver kept submissions. Contact its administrator.")
        }
        let client = BackendClient(address: backend, timeoutSeconds: cache.backendTimeout, maxResponseBytes: cache.maxResponseBytes)
        let store = RequestCacheStore(kv: context.store, prefix: config.keyPrefix)
        let clear = Cookies.setCookie(name: cache.cookieName, value: "", maxAge: 0)
        let continueURL = origin.serialized + request.requestURI
        guard let id = request.cookie(cache.cookieName), let peeked = try store.peek(id) else {
            if request.cookie(cache.cookieName) == nil {
                return try forward(request, identity: identity, client: client, context: context)
            }
            context.logger.notice("kept submission expired or already delivered", metadata: ["path": "\(request.path)"])
            return notDelivered(service: service, continueURL: continueURL,
                                reason: "it was kept for \(cache.ttl / 60) minutes, and that time ran out before you signed in again")
                .adding("Set-Cookie", clear)
        }
        // Another page of the site, while a submission waits for its own page: deliver this one as it is.
        guard peeked.uri == request.requestURI, peeked.origin == origin.serialized else {
            return try forward(request, identity: identity, client: client, context: context)
        }
        guard let (entry, body) = try store.take(id) else {
            return notDelivered(service: service, continueURL: continueURL, reason: "it was already delivered or could not be read back")
                .adding("Set-Cookie", clear)
        }
        if let dropped = entry.dropped {
            return notDelivered(service: service, continueURL: continueURL, reason: dropped).adding("Set-Cookie", clear)
        }
        guard entry.fingerprint == Fingerprint.of(request), let user = entry.user, user == identity.claims.sub else {
            context.logger.warning("kept submission refused: another browser or user", metadata: ["path": "\(request.path)",
                                                                                                  "user": "\(identity.claims.sub)"])
            return notDelivered(service: service, continueURL: continueURL,
                                reason: "it was made by another sign-in, so it was discarded").adding("Set-Cookie", clear)
        }
        var headers: [(String, String)] = entry.headers.compactMap { $0.count == 2 ? ($0[0], $0[1]) : nil }
        headers += upstreamHeaders(request, identity: identity)
        do {
            let response = try client.send(method: entry.method, uri: entry.uri, headers: headers, body: body)
            context.logger.info("kept submission delivered", metadata: ["path": "\(request.path)", "status": "\(response.status)",
                                                                         "user": "\(identity.claims.sub)"])
            return response.adding("Set-Cookie", clear).adding("Cache-Control", "no-store")
        } catch {
            context.logger.error("replay failed", metadata: ["error": "\(error)"])
            if error.beforeSending {
                try store.put(entry, body: body, id: id, ttl: cache.ttl)
                return page.message(status: 502, title: "\(service.title) cannot be reached",
                                    text: "Your submission is still kept. Reload this page in a moment to deliver it.")
            }
            return page.message(status: 502, title: "\(service.title) did not answer",
                                text: "Your submission was sent but no answer came back, so it may or may not have been received. "
                                    + "Check in \(service.title) before sending it again.").adding("Set-Cookie", clear)
        }
    }

    /// The request as it is (a GET of another page while a replay waits), relayed to the app with the identity headers.
    func forward(_ request: HTTPRequest, identity: SessionCheck.Identity, client: BackendClient, context: RequestContext) throws -> HTTPResponse {
        var headers = request.headers.filter { !["host", "cookie", "content-length", "connection", "x-remote-user",
                                                  "x-remote-email", "x-remote-name"].contains($0.name) }.map { ($0.name, $0.value) }
        headers += upstreamHeaders(request, identity: identity)
        do {
            return try client.send(method: request.method, uri: request.requestURI, headers: headers, body: request.body)
        } catch {
            context.logger.error("forward failed", metadata: ["error": "\(error)"])
            return page.message(status: 502, title: "The application cannot be reached", text: "Please try again in a moment.")
        }
    }

    /// What the web server's proxy would add: host, forwarding headers, the identity, the browser's current cookies
    /// (without the replay cookie).
    func upstreamHeaders(_ request: HTTPRequest, identity: SessionCheck.Identity) -> [(String, String)] {
        var out: [(String, String)] = [("Host", request.header("Host") ?? "")]
        if !request.remoteAddress.isEmpty { out.append(("X-Forwarded-For", request.remoteAddress)) }
        out.append(("X-Forwarded-Proto", request.isHTTPS ? "https" : "http"))
        out.append(("X-Remote-User", identity.claims.sub))
        out.append(("X-Remote-Email", identity.claims.email))
        out.append(("X-Remote-Name", identity.claims.name))
        let cookies = (request.header("Cookie") ?? "").split(separator: ";").map { $0.trimmingSpaces }
            .filter { !$0.hasPrefix(cache.cookieName + "=") && !$0.isEmpty }
        if !cookies.isEmpty { out.append(("Cookie", cookies.joined(separator: "; "))) }
        return out
    }

    func notDelivered(service: Service, continueURL: String, reason: String) -> HTTPResponse {
        page.message(status: 200, title: "Your submission was not kept",
                     text: "You are signed in again, but the form you sent to \(service.title) before signing in was not delivered: "
                         + "\(reason). Nothing was sent to \(service.title). Please fill it in and send it again.",
                     link: ("Continue to \(service.title)", continueURL))
    }
}
