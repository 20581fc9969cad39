import CMemcached
import Glibc

/// The one owner of a libmemcached handle (`memcached_st`). One per worker thread; frees the handle in `deinit`.
/// Speaks memcached's text protocol. With several servers, libmemcached spreads the keys over them by consistent hashing
/// and each item lives on one server; `ReplicatedStore` drives one of these per server to keep copies.
public final class MemcachedClient: KeyValueStore, StoreNode {
    private let handle: UnsafeMutablePointer<memcached_st>
    public let name: String

    /// Creates a handle for `options.servers`; throws when a server entry is not `host:port` or a socket path.
    public init(_ options: MemcachedOptions) throws(MemcachedError) {
        guard let handle = memcached_create(nil) else { throw MemcachedError("create", "out of memory") }
        self.handle = handle
        name = options.servers.joined(separator: ",")
        for server in options.servers {
            let rc: memcached_return_t
            if server.hasPrefix("/") {
                rc = memcached_server_add_unix_socket(handle, server)
            } else {
                // Every stored property is set: a throw from here runs deinit, which frees the handle (freeing it here too
                // was a double free).
                guard let colon = server.lastIndex(of: ":"), let port = UInt16(server[server.index(after: colon)...]) else {
                    throw MemcachedError("add server", "\"\(server)\" is not host:port")
                }
                rc = memcached_server_add(handle, String(server[..<colon]), in_port_t(port))
            }
            guard rc == MEMCACHED_SUCCESS else {
                let message = String(cString: memcached_strerror(handle, rc))
                throw MemcachedError("add server \(server)", message)
            }
        }
        memcached_behavior_set(handle, MEMCACHED_BEHAVIOR_DISTRIBUTION, UInt64(MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA.rawValue))
        memcached_behavior_set(handle, MEMCACHED_BEHAVIOR_TCP_NODELAY, 1)
        // `gets` instead of `get`: the same cost for memcached, and the CAS id that `replace(ifUnchanged:)` needs.
        memcached_behavior_set(handle, MEMCACHED_BEHAVIOR_SUPPORT_CAS, 1)
        memcached_behavior_set(handle, MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, UInt64(options.connectTimeoutMS))
        memcached_behavior_set(handle, MEMCACHED_BEHAVIOR_POLL_TIMEOUT, UInt64(options.pollTimeoutMS))
        memcached_behavior_set(handle, MEMCACHED_BEHAVIOR_RCV_TIMEOUT, UInt64(options.pollTimeoutMS * 1000))
        memcached_behavior_set(handle, MEMCACHED_BEHAVIOR_SND_TIMEOUT, UInt64(options.pollTimeoutMS * 1000))
        memcached_behavior_set(handle, MEMCACHED_BEHAVIOR_RETRY_TIMEOUT, UInt64(options.retryTimeoutSeconds))
    }

    deinit { memcached_free(handle) }

    private func failure(_ operation: String, _ rc: memcached_return_t) -> StoreError {
        StoreError("memcached \(operation) (\(name)): \(String(cString: memcached_strerror(handle, rc)))")
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
        if rc == MEMCACHED_TIMEOUT { memcached_quit(handle) }  // a late reply must not be read as the next one's
        return rc
    }

    private static func brokenConnection(_ rc: memcached_return_t) -> Bool {
        rc == MEMCACHED_CONNECTION_FAILURE || rc == MEMCACHED_WRITE_FAILURE || rc == MEMCACHED_READ_FAILURE
            || rc == MEMCACHED_UNKNOWN_READ_FAILURE || rc == MEMCACHED_ERRNO
    }

    /// Throws for keys memcached cannot hold (empty, over 250 bytes, spaces or control characters).
    public static func checkKey(_ key: String) throws(StoreError) {
        var key = key
        guard key.withUTF8({ !$0.isEmpty && $0.count <= 250 && $0.allSatisfy { $0 > 0x20 && $0 < 0x7F } }) else {
            throw StoreError("memcached: key is not a valid memcached key")
        }
    }

    private static func expiration(_ ttl: Int) -> time_t {
        time_t(MemcachedTTL.expiration(ttl, now: Int(time(nil))))
    }

    // MARK: StoreNode

    public func fetch(_ keys: [String]) throws(StoreError) -> [String: NodeItem] {
        for key in keys { try Self.checkKey(key) }
        var items: [String: NodeItem] = [:]
        let rc = reconnectingOnce {
            items = [:]
            var cKeys = keys.map { strdup($0) }
            defer { for k in cKeys { free(k) } }
            var lengths = keys.map { $0.utf8.count }
            let sent = cKeys.withUnsafeMutableBufferPointer { k in
                lengths.withUnsafeMutableBufferPointer { l in
                    k.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: k.count) {
                        memcached_mget(handle, $0, l.baseAddress, keys.count)
                    }
                }
            }
            guard sent == MEMCACHED_SUCCESS else { return sent }
            var rc = MEMCACHED_SUCCESS
            while let result = memcached_fetch_result(handle, nil, &rc) {
                defer { memcached_result_free(result) }
                let key = String(decoding: UnsafeRawBufferPointer(start: memcached_result_key_value(result),
                                                                   count: memcached_result_key_length(result)), as: UTF8.self)
                let value = Array(UnsafeRawBufferPointer(start: memcached_result_value(result), count: memcached_result_length(result)))
                items[key] = NodeItem(value: value, flags: memcached_result_flags(result), cas: memcached_result_cas(result))
            }
            return rc == MEMCACHED_END || rc == MEMCACHED_NOTFOUND ? MEMCACHED_SUCCESS : rc
        }
        guard rc == MEMCACHED_SUCCESS else { throw failure("get", rc) }
        return items
    }

    public func write(_ mode: NodeWriteMode, _ key: String, _ value: [UInt8], flags: UInt32, ttl: Int) throws(StoreError) -> NodeWriteResult {
        try Self.checkKey(key)
        let expiration = Self.expiration(ttl)
        let rc = reconnectingOnce {
            value.withUnsafeBufferPointer { buf in
                buf.withMemoryRebound(to: CChar.self) { v in
                    switch mode {
                    case .set: memcached_set(handle, key, key.utf8.count, v.baseAddress, v.count, expiration, flags)
                    case .add: memcached_add(handle, key, key.utf8.count, v.baseAddress, v.count, expiration, flags)
                    case .cas(let cas): memcached_cas(handle, key, key.utf8.count, v.baseAddress, v.count, expiration, flags, cas)
                    case .append: memcached_append(handle, key, key.utf8.count, v.baseAddress, v.count, 0, 0)
                    }
                }
            }
        }
        switch rc {
        case MEMCACHED_SUCCESS, MEMCACHED_STORED: return .stored
        case MEMCACHED_NOTSTORED: if case .cas = mode { return .notFound } else { return .notStored }
        case MEMCACHED_DATA_EXISTS: return .exists
        case MEMCACHED_NOTFOUND: return .notFound
        default: throw failure("store", rc)
        }
    }

    public func incr(_ key: String, by delta: UInt64, ttl: Int) throws(StoreError) -> UInt64 {
        // The text protocol has no increment-with-initial: create the counter if absent, then increment it.
        _ = try write(.add, key, Array("0".utf8), flags: 0, ttl: ttl)
        var value: UInt64 = 0
        let rc = reconnectingOnce { memcached_increment(handle, key, key.utf8.count, UInt32(truncatingIfNeeded: delta), &value) }
        guard rc == MEMCACHED_SUCCESS else { throw failure("increment", rc) }
        return value
    }

    public func decr(_ key: String, by delta: UInt64) throws(StoreError) -> UInt64? {
        try Self.checkKey(key)
        var value: UInt64 = 0
        let rc = reconnectingOnce { memcached_decrement(handle, key, key.utf8.count, UInt32(truncatingIfNeeded: delta), &value) }
        if rc == MEMCACHED_NOTFOUND { return nil }
        guard rc == MEMCACHED_SUCCESS else { throw failure("decrement", rc) }
        return value
    }

    public func flushAll() throws(StoreError) {
        let rc = reconnectingOnce { memcached_flush(handle, 0) }
        guard rc == MEMCACHED_SUCCESS else { throw failure("flush_all", rc) }
    }

    // MARK: KeyValueStore

    public func get(_ key: String) throws(StoreError) -> [UInt8]? {
        try read(key)?.value
    }

    /// One key's item and CAS id: the check's one read, without `fetch`'s dictionary.
    public func read(_ key: String) throws(StoreError) -> VersionedValue? {
        try Self.checkKey(key)
        var found: VersionedValue?
        let rc = reconnectingOnce {
            found = nil
            var length = key.utf8.count
            let sent = key.withCString { k in
                var keys: [UnsafePointer<CChar>?] = [k]
                return memcached_mget(handle, &keys, &length, 1)
            }
            guard sent == MEMCACHED_SUCCESS else { return sent }
            var rc = MEMCACHED_SUCCESS
            while let result = memcached_fetch_result(handle, nil, &rc) {
                defer { memcached_result_free(result) }
                let value = Array(UnsafeRawBufferPointer(start: memcached_result_value(result), count: memcached_result_length(result)))
                found = VersionedValue(value: value, version: StoreVersion(cas: memcached_result_cas(result)))
            }
            return rc == MEMCACHED_END || rc == MEMCACHED_NOTFOUND ? MEMCACHED_SUCCESS : rc
        }
        guard rc == MEMCACHED_SUCCESS else { throw failure("get", rc) }
        return found
    }

    @discardableResult
    public func delete(_ key: String) throws(StoreError) -> Bool {
        try remove(key)
    }

    public func touch(_ key: String, ttl: Int) throws(StoreError) -> Bool {
        try Self.checkKey(key)
        let expiration = Self.expiration(ttl)
        let rc = reconnectingOnce { memcached_touch(handle, key, key.utf8.count, expiration) }
        if rc == MEMCACHED_NOTFOUND { return false }
        guard rc == MEMCACHED_SUCCESS else { throw failure("touch", rc) }
        return true
    }

    /// Removes `key`; true only for the one caller whose delete removed it.
    func remove(_ key: String) throws(StoreError) -> Bool {
        try Self.checkKey(key)
        let rc = reconnectingOnce { memcached_delete(handle, key, key.utf8.count, 0) }
        if rc == MEMCACHED_NOTFOUND { return false }
        guard rc == MEMCACHED_SUCCESS else { throw failure("delete", rc) }
        return true
    }

    /// Get, then delete: only the caller whose delete removed the item gets it.
    public func take(_ key: String) throws(StoreError) -> [UInt8]? {
        guard let value = try get(key) else { return nil }
        return try remove(key) ? value : nil
    }

}
