/// Makes each worker's store for `options`: one `MemcachedClient` without replicas; with replicas, a `ReplicatedStore`
/// over one client per server, all workers of the process sharing one `PoolState`.
public struct StoreFactory: Sendable {
    public let options: MemcachedOptions
    let pool: PoolState

    /// `events` hears of each server's failures and ejections (with replicas: the pool knows which server failed).
    public init(_ options: MemcachedOptions, events: StoreEvents? = nil) {
        self.options = options
        pool = PoolState(servers: options.servers.count, retryTimeout: Double(options.retryTimeoutSeconds),
                         lease: Double(options.fenceLeaseMS) / 1000, events: events)
    }

    /// A new store with its own connections.
    public func make() throws -> KeyValueStore {
        guard options.replicas > 0 else { return try MemcachedClient(options) }
        let nodes: [StoreNode] = try options.servers.map { try MemcachedClient(options.node($0)) }
        return ReplicatedStore(nodes: nodes, pool: pool, options: options)
    }
}
