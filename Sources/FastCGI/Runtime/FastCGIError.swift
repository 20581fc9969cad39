/// The FastCGI runtime could not start (socket, threads).
public struct FastCGIError: Error, CustomStringConvertible, Sendable {
    public let message: String
    /// True when the cause is in the config or the unit files (the socket systemd passed is not the one the config
    /// names): starting again cannot help, so the program exits 2 and systemd does not restart it
    /// (`RestartPreventExitStatus=2`). Default: false (a start that may succeed later, e.g. a port still held).
    public let isSetup: Bool

    public init(_ message: String, setup: Bool = false) {
        self.message = message
        isSetup = setup
    }

    public var description: String { "fastcgi: \(message)" }
}
