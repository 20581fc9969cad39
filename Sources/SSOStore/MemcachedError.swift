/// A libmemcached failure: the operation and libmemcached's message (never a value).
public struct MemcachedError: Error, CustomStringConvertible, Sendable {
    public let operation: String
    public let message: String
    public init(_ operation: String, _ message: String) {
        self.operation = operation
        self.message = message
    }
    public var description: String { "memcached \(operation): \(message)" }
}
