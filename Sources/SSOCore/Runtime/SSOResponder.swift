import FastCGI
import FoundationEssentials
import Glibc
import Logging
import SSOStore

/// Serves a `Handler` on the FastCGI runtime: each worker owns one store connection, and the clock is read once per
/// request and handed to the handler with it.
public struct SSOResponder<H: Handler>: Responder {
    public let handler: H
    let makeStore: @Sendable () throws -> KeyValueStore
    let clock: @Sendable () -> Int64
    let logger: Logger
    /// The program's counts, handed to every request.
    let metrics: SSOMetrics

    /// `clock` gives seconds since 1970; the default is the system's wall clock.
    public init(handler: H, logger: Logger, metrics: SSOMetrics = .discard,
                clock: @escaping @Sendable () -> Int64 = SSOResponder.wallClock,
                makeStore: @escaping @Sendable () throws -> KeyValueStore) {
        self.handler = handler
        self.logger = logger
        self.metrics = metrics
        self.clock = clock
        self.makeStore = makeStore
    }

    /// Seconds since 1970 from the system clock.
    public static var wallClock: @Sendable () -> Int64 { { Int64(Date().timeIntervalSince1970) } }

    public func makeWorker(index: Int) throws -> KeyValueStore { try makeStore() }

    public func respond(to request: HTTPRequest, worker store: KeyValueStore) -> HTTPResponse {
        handler.respond(to: request, context: RequestContext(now: clock(), store: store, logger: logger, metrics: metrics))
    }
}
