import Logging
import Synchronization

/// Every log line a test's logger wrote, to assert that no secret was logged.
public final class LogSink: Sendable {
    private let state = Mutex<[String]>([])
    public init() {}
    public var lines: [String] { state.withLock { $0 } }
    func append(_ line: String) { state.withLock { $0.append(line) } }

    /// A logger at `level` that writes into this sink.
    public func logger(level: Logger.Level = .trace) -> Logger {
        var logger = Logger(label: "capture") { _ in CapturingHandler(sink: self) }
        logger.logLevel = level
        return logger
    }
}

/// A swift-log handler that appends level, message and metadata to a `LogSink`.
public struct CapturingHandler: LogHandler {
    let sink: LogSink
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .trace

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        sink.append("\(event.level) \(event.message) \(event.metadata ?? [:])")
    }
}
