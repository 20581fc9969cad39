/// The FastCGI runtime could not start (socket, threads).
public struct FastCGIError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "fastcgi: \(message)" }
}
