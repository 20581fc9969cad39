import FastCGI
import Synchronization

/// A `BackendClient` that records what it is sent and answers as told: the app behind a replay, in-process.
public final class RecordingBackend: BackendClient, Sendable {
    private struct State {
        var sent: [(request: BackendRequest, address: BackendAddress)] = []
        var failure: BackendError? = nil
    }
    private let state = Mutex(State())
    private let answer: @Sendable (BackendRequest) -> HTTPResponse

    /// By default the app answers 200 with the body it received, as the demo's echo app would.
    public init(answer: (@Sendable (BackendRequest) -> HTTPResponse)? = nil) {
        self.answer = answer ?? { HTTPResponse(status: .ok, body: $0.body) }
    }

    /// Every request delivered so far, in order.
    public var sent: [BackendRequest] { state.withLock { $0.sent.map(\.request) } }

    /// Makes the next sends fail with `error` (nil: succeed again).
    public func fail(with error: BackendError?) { state.withLock { $0.failure = error } }

    public func send(_ request: BackendRequest, to address: BackendAddress) throws(BackendError) -> HTTPResponse {
        let failure = state.withLock { s -> BackendError? in
            if s.failure == nil { s.sent.append((request, address)) }
            return s.failure
        }
        if let failure { throw failure }
        return answer(request)
    }
}
