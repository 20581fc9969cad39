/// A failure inside the crypto wrappers. Descriptions never carry key material or secrets.
public struct CryptoError: Error, CustomStringConvertible, Equatable, Sendable {
    /// What was being done when OpenSSL or libxcrypt failed, e.g. "load PEM private key".
    public let operation: String
    /// OpenSSL's own reason string where it has one.
    public let reason: String

    public init(_ operation: String, reason: String = "") {
        self.operation = operation
        self.reason = reason
    }

    public var description: String {
        reason.isEmpty ? "crypto: \(operation) failed" : "crypto: \(operation) failed: \(reason)"
    }
}
