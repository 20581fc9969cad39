import FastCGI
import SSOStore

/// The session check as every step of the flow calls it: the request's own cookie (unless a token is given, as for a
/// hand-off), the browser's fingerprint, the service, the clock and the store all taken from the request and its context.
public struct SessionGate: Sendable {
    public let check: SessionCheck
    /// The JWT cookie's name (`cookie.name`).
    public let cookieName: String
    /// The memcached key namespace (`memcached.prefix`).
    public let keyPrefix: String

    public init(check: SessionCheck, cookieName: String, keyPrefix: String) {
        self.check = check
        self.cookieName = cookieName
        self.keyPrefix = keyPrefix
    }

    /// The sessions, hand-offs and counters in this request's store.
    public func store(_ context: RequestContext) -> SessionStore { SessionStore(kv: context.store, prefix: keyPrefix) }

    /// Checks `token` (by default the request's own session cookie) on the host at `origin`, for `service` (nil: the
    /// accounts host, where no registration is needed). Throws only when the store cannot answer.
    public func outcome(of request: HTTPRequest, token: String?? = .none, at origin: Origin, service: Service?,
                        context: RequestContext) throws(StoreError) -> SessionCheck.Outcome {
        let presented: String? = switch token {
        case .some(let given): given
        case .none: request.cookie(cookieName)
        }
        return try check.check(token: presented, host: origin.serialized, fingerprint: Fingerprint.of(request), service: service?.name,
                               now: context.now, store: store(context))
    }
}
