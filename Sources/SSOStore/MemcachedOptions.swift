/// How to reach the memcached pool. Doc comments state units and defaults.
public struct MemcachedOptions: Sendable, Equatable {
    /// `host:port` entries (or `/path/to/socket`). With `replicas` 0 keys spread over them by consistent hashing (ketama).
    public var servers: [String]
    /// Extra copies of every item, each on another server: with `replicas` N every item is on N + 1 servers and up to N
    /// can be lost at once without losing an item (`ReplicatedStore`). Default: 0.
    public var replicas: Int
    /// Connect timeout in milliseconds. Default: 250.
    public var connectTimeoutMS: Int
    /// Per-operation poll timeout in milliseconds: the longest a hung server holds a request before it is ejected. Default: 500.
    public var pollTimeoutMS: Int
    /// Seconds an ejected server is left alone before one request tries it again. Default: 1.
    public var retryTimeoutSeconds: Int
    /// Milliseconds a process trusts its list of fenced servers before it reads the list again; a delete that missed a
    /// copy returns only after this long, so that no reader still trusts the server it missed. Default: 1000.
    public var fenceLeaseMS: Int
    /// Key namespace of the store's own records (fences), the same as the SSO's keys. Default: `sso:`.
    public var prefix: String
    /// Seconds a tombstone lives: at least the longest TTL any item is written with, so a copy that missed the delete
    /// expires before its tombstone does. Default: 43,231 (the default session lifetime plus a second, plus 30).
    public var tombstoneTTL: Int

    public init(servers: [String], replicas: Int = 0, connectTimeoutMS: Int = 250, pollTimeoutMS: Int = 500,
                retryTimeoutSeconds: Int = 1, fenceLeaseMS: Int = 1000, prefix: String = "sso:", tombstoneTTL: Int = 43_231) {
        self.servers = servers
        self.replicas = replicas
        self.connectTimeoutMS = connectTimeoutMS
        self.pollTimeoutMS = pollTimeoutMS
        self.retryTimeoutSeconds = retryTimeoutSeconds
        self.fenceLeaseMS = fenceLeaseMS
        self.prefix = prefix
        self.tombstoneTTL = tombstoneTTL
    }

    /// The options for a handle to one of the servers, as `ReplicatedStore` uses it: libmemcached's own retry timeout is
    /// off, because `PoolState` decides for the whole process when an ejected server is tried again.
    public func node(_ server: String) -> MemcachedOptions {
        var one = self
        one.servers = [server]
        one.replicas = 0
        one.retryTimeoutSeconds = 0
        return one
    }
}
