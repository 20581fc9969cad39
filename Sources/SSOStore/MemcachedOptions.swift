/// How to reach the memcached pool. Doc comments state units and defaults.
public struct MemcachedOptions: Sendable, Equatable {
    /// `host:port` entries (or `/path/to/socket`). Keys spread over them by consistent hashing (ketama).
    public var servers: [String]
    /// Extra copies of every item on other servers, so one server lost loses no session. Default: 0.
    public var replicas: Int
    /// Connect timeout in milliseconds. Default: 250.
    public var connectTimeoutMS: Int
    /// Per-operation poll timeout in milliseconds. Default: 500.
    public var pollTimeoutMS: Int
    /// Seconds a failed server is left alone before libmemcached reconnects by itself. Default: 1.
    public var retryTimeoutSeconds: Int

    public init(servers: [String], replicas: Int = 0, connectTimeoutMS: Int = 250, pollTimeoutMS: Int = 500,
                retryTimeoutSeconds: Int = 1) {
        self.servers = servers
        self.replicas = replicas
        self.connectTimeoutMS = connectTimeoutMS
        self.pollTimeoutMS = pollTimeoutMS
        self.retryTimeoutSeconds = retryTimeoutSeconds
    }
}
