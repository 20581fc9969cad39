import CMemcached
import Glibc

/// The one owner of a libmemcached handle (`memcached_st`). One per worker thread; frees the handle in `deinit`.
public final class MemcachedClient: KeyValueStore {
    private let handle: UnsafeMutablePointer<memcached_st>

    /// Creates a handle for `options`; throws when a server entry is not `host:port` or a socket path.
    public init(_ options: MemcachedOptions) throws(MemcachedError) {
        guard let handle = memcached_create(nil) else { throw MemcachedError("create", "out of memory") }
        self.handle = handle
        for server in options.servers {
            let rc: memcached_return_t
            if server.hasPrefix("/") {
                rc = memcached_server_add_unix_socket(handle, server)
            } else {
                guard let colon = server.lastIndex(of: ":"), let port = UInt16(server[server.index(after: colon)...]) else {
                    memcached_free(handle)
                    throw MemcachedError("add server", "\"\(server)\" is not host:port")
                }
                rc = memcached_server_add(handle, String(server[..<colon]), in_port_t(port))
            }
            guard rc == MEMCACHED_SUCCESS else {
                let message = String(cString: memcached_strerror(handle, rc))
                memcached_free(handle)
                throw MemcachedError("add server \(server)", message)
            }
        }
        memcached_behavior_set(handle, MEMCACHED_BEHAVIOR_DISTRIBUTION, UInt64(MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA.rawValue))
        memcached_behavior_set(handle, MEMCACHED_BEHAVIOR_TCP_NODELAY, 1)
        memcached_behavior_set(handle, MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, UInt64(options.connectTimeoutMS))
        memcached_behavior_set(handle, MEMCACHED_BEHAVIOR_POLL_TIMEOUT, UInt64(options.pollTimeoutMS))
        memcached_behavior_set(handle, MEMCACHED_BEHAVIOR_RCV_TIMEOUT, UInt64(options.pollTimeoutMS * 1000))
        memcached_behavior_set(handle, MEMCACHED_BEHAVIOR_SND_TIMEOUT, UInt64(options.pollTimeoutMS * 1000))
        memcached_behavior_set(handle, MEMCACHED_BEHAVIOR_RETRY_TIMEOUT, UInt64(options.retryTimeoutSeconds))
        if options.replicas > 0 {
            memcached_behavior_set(handle, MEMCACHED_BEHAVIOR_NUMBER_OF_REPLICAS, UInt64(options.replicas))
        }
    }

    deinit { memcached_free(handle) }

    private func failure(_ operation: String, _ rc: memcached_return_t) -> StoreError {
        StoreError("memcached \(operation): \(String(cString: memcached_strerror(handle, rc)))")
    }

    /// Whether the last operation reached the server. A connection that worked can still be a socket to a memcached
    /// that has since restarted (a worker idle through the restart holds one): its next operation fails once on it.
    private var connectionTrusted = false

    /// Runs `operation`; when it fails on a connection that last worked, closes the connections and runs it once more
    /// on a new one. During an outage the connection is not trusted, so a request still fails at once (fail closed,
    /// no doubled wait). A retried `delete` or `add` whose first reply was lost answers "not found"/"not stored", which
    /// callers already treat as losing the race: the safe side.
    private func reconnectingOnce(_ operation: () -> memcached_return_t) -> memcached_return_t {
        var rc = operation()
        if connectionTrusted && Self.brokenConnection(rc) {
            memcached_quit(handle)
            rc = operation()
        }
        connectionTrusted = !Self.brokenConnection(rc) && rc != MEMCACHED_TIMEOUT
            && rc != MEMCACHED_SERVER_TEMPORARILY_DISABLED && rc != MEMCACHED_SERVER_MARKED_DEAD
        return rc
    }

    private static func brokenConnection(_ rc: memcached_return_t) -> Bool {
        rc == MEMCACHED_CONNECTION_FAILURE || rc == MEMCACHED_WRITE_FAILURE || rc == MEMCACHED_READ_FAILURE
            || rc == MEMCACHED_UNKNOWN_READ_FAILURE || rc == MEMCACHED_ERRNO
    }

    private func checkKey(_ key: String) throws(StoreError) {
        guard !key.isEmpty, key.utf8.count <= 250, key.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw StoreError("memcached: key is not a valid memcached key")
        }
    }

    public func get(_ key: String) throws(StoreError) -> [UInt8]? {
        try checkKey(key)
        var length = 0
        var flags: UInt32 = 0
        var value: UnsafeMutablePointer<CChar>? = nil
        let rc = reconnectingOnce {
            free(value)
            var rc = MEMCACHED_SUCCESS
            value = memcached_get(handle, key, key.utf8.count, &length, &flags, &rc)
            return rc
        }
        defer { free(value) }
        if rc == MEMCACHED_NOTFOUND { return nil }
        guard rc == MEMCACHED_SUCCESS else { throw failure("get", rc) }
        guard let value else { return [] }
        return value.withMemoryRebound(to: UInt8.self, capacity: length) { Array(UnsafeBufferPointer(start: $0, count: length)) }
    }

    public func set(_ key: String, _ value: [UInt8], ttl: Int) throws(StoreError) {
        try checkKey(key)
        let rc = reconnectingOnce {
            value.withUnsafeBufferPointer { buf in
                buf.withMemoryRebound(to: CChar.self) { memcached_set(handle, key, key.utf8.count, $0.baseAddress, $0.count, time_t(ttl), 0) }
            }
        }
        guard rc == MEMCACHED_SUCCESS else { throw failure("set", rc) }
    }

    public func add(_ key: String, _ value: [UInt8], ttl: Int) throws(StoreError) -> Bool {
        try checkKey(key)
        let rc = reconnectingOnce {
            value.withUnsafeBufferPointer { buf in
                buf.withMemoryRebound(to: CChar.self) { memcached_add(handle, key, key.utf8.count, $0.baseAddress, $0.count, time_t(ttl), 0) }
            }
        }
        if rc == MEMCACHED_NOTSTORED || rc == MEMCACHED_DATA_EXISTS { return false }
        guard rc == MEMCACHED_SUCCESS else { throw failure("add", rc) }
        return true
    }

    public func delete(_ key: String) throws(StoreError) -> Bool {
        try checkKey(key)
        let rc = reconnectingOnce { memcached_delete(handle, key, key.utf8.count, 0) }
        if rc == MEMCACHED_NOTFOUND { return false }
        guard rc == MEMCACHED_SUCCESS else { throw failure("delete", rc) }
        return true
    }

    public func increment(_ key: String, by delta: UInt64, ttl: Int) throws(StoreError) -> UInt64 {
        try checkKey(key)
        // The text protocol has no increment-with-initial: create the counter if absent, then increment it.
        _ = try add(key, Array("0".utf8), ttl: ttl)
        var value: UInt64 = 0
        let rc = reconnectingOnce { memcached_increment(handle, key, key.utf8.count, UInt32(truncatingIfNeeded: delta), &value) }
        guard rc == MEMCACHED_SUCCESS else { throw failure("increment", rc) }
        return value
    }

    public func decrement(_ key: String, by delta: UInt64) throws(StoreError) -> UInt64 {
        try checkKey(key)
        var value: UInt64 = 0
        let rc = reconnectingOnce { memcached_decrement(handle, key, key.utf8.count, UInt32(truncatingIfNeeded: delta), &value) }
        if rc == MEMCACHED_NOTFOUND { return 0 }
        guard rc == MEMCACHED_SUCCESS else { throw failure("decrement", rc) }
        return value
    }

    public func append(_ key: String, _ value: [UInt8]) throws(StoreError) -> Bool {
        try checkKey(key)
        let rc = reconnectingOnce {
            value.withUnsafeBufferPointer { buf in
                buf.withMemoryRebound(to: CChar.self) { memcached_append(handle, key, key.utf8.count, $0.baseAddress, $0.count, 0, 0) }
            }
        }
        if rc == MEMCACHED_NOTSTORED || rc == MEMCACHED_NOTFOUND { return false }
        guard rc == MEMCACHED_SUCCESS else { throw failure("append", rc) }
        return true
    }

    public func touch(_ key: String, ttl: Int) throws(StoreError) -> Bool {
        try checkKey(key)
        let rc = reconnectingOnce { memcached_touch(handle, key, key.utf8.count, time_t(ttl)) }
        if rc == MEMCACHED_NOTFOUND { return false }
        guard rc == MEMCACHED_SUCCESS else { throw failure("touch", rc) }
        return true
    }
}
