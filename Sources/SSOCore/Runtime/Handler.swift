import FastCGI
import Logging
import SSOStore

/// What a handler may use besides the request: the clock, this worker's store, a logger, the program's metrics. Tests
/// make their own.
public struct RequestContext {
    /// Seconds since 1970, now.
    public let now: Int64
    /// This worker's store (one memcached connection per worker thread).
    public let store: KeyValueStore
    /// Logger with the request's metadata.
    public let logger: Logger
    /// The program's counts (shared by every worker process); `SSOMetrics.discard` when nothing reads them.
    public let metrics: SSOMetrics

    public init(now: Int64, store: KeyValueStore, logger: Logger, metrics: SSOMetrics = .discard) {
        self.now = now
        self.store = store
        self.logger = logger
        self.metrics = metrics
    }
}

/// A step of the flow, or a whole program's dispatcher: a pure function of a request and its context.
public protocol Handler: Sendable {
    /// Answers one request. Never throws: every failure becomes a response here.
    func respond(to request: HTTPRequest, context: RequestContext) -> HTTPResponse
}
