import Logging

/// What every responder is: a function from a request to a response, with the world passed in.
public protocol Responder: Sendable {
    /// Answers one request. Never throws: every failure becomes a response here.
    func respond(to request: HTTPRequest, context: RequestContext) -> HTTPResponse
}

/// What a responder may use besides the request: the clock, the store of this worker, a logger.
public struct RequestContext {
    /// Seconds since 1970, now.
    public let now: Int64
    /// This worker's store (one memcached connection per worker thread).
    public let store: KeyValueStore
    /// Logger with the request's metadata.
    public let logger: Logger

    public init(now: Int64, store: KeyValueStore, logger: Logger) {
        self.now = now
        self.store = store
        self.logger = logger
    }
}
