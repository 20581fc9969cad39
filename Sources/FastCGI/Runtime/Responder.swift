/// What the FastCGI runtime serves: a function from a request to a response, with per-worker state passed in.
/// The runtime knows nothing of what a responder does (sessions, config, stores): it reads requests, calls `respond`,
/// and writes responses.
public protocol Responder: Sendable {
    /// State one worker thread owns for its whole life (e.g. its own store connection); never shared between threads.
    associatedtype Worker

    /// Makes worker `index`'s state before any request is served; a throw stops the server from starting.
    func makeWorker(index: Int) throws -> Worker

    /// Answers one request on a worker. Never throws: every failure becomes a response here.
    func respond(to request: HTTPRequest, worker: Worker) -> HTTPResponse
}
