/// Asks every configured memcached server, one at a time and within the config's connect and poll timeouts, for one
/// key: which servers do not answer. For `--check-config` and the warning a program logs at start; it never decides
/// whether a request gets in (the stores do, failing closed).
public enum StoreProbe {
    /// A server that did not answer.
    public struct Silent: Sendable, Equatable {
        /// Its index in `memcached.servers`.
        public let index: Int
        /// `host:port` or the socket path, as configured.
        public let server: String
        /// libmemcached's reason (it names the server too).
        public let reason: String
    }

    /// The servers of `options` that do not answer a `get`, in config order; empty when all answer.
    public static func silentServers(_ options: MemcachedOptions) -> [Silent] {
        var out: [Silent] = []
        for (index, server) in options.servers.enumerated() {
            do {
                let client = try MemcachedClient(options.node(server))
                _ = try client.fetch([options.prefix + "probe"])
            } catch let error as MemcachedError {
                out.append(Silent(index: index, server: server, reason: error.description))
            } catch {
                out.append(Silent(index: index, server: server, reason: (error as? StoreError)?.message ?? "\(error)"))
            }
        }
        return out
    }
}
