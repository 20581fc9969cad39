import SSOStore

/// Sign-in throttling that nobody can turn against someone else. Every attempt is counted as a failure before it is
/// judged (an atomic increment: parallel guesses each see their own count, so none slips past a limit), and taken back
/// when the password is right. What is counted, within `login.failure_window`:
/// - per user name and client address (`login.max_failures`): a stranger's guesses lock only the stranger's own address;
/// - per client address, IPv6 by /64 (`login.max_address_failures`): one address guessing many names;
/// - per user name from browsers that have never signed in as that user (`login.user_soft_limit`): past it, each such
///   attempt waits a delay that doubles up to `login.max_delay`; a browser holding that user's device cookie (set at
///   every successful sign-in) is counted on its own instead (`login.max_failures`), and not by its address's count,
///   so the user's own browsers are never slowed or locked out by others.
public struct SignInThrottle {
    /// The limits, from the config.
    public struct Limits: Sendable {
        public var pairFailures: Int
        public var addressFailures: Int
        public var userSoftLimit: Int
        /// Seconds.
        public var maxDelay: Int
        /// Seconds.
        public var window: Int

        public init(pairFailures: Int, addressFailures: Int, userSoftLimit: Int, maxDelay: Int, window: Int) {
            self.pairFailures = pairFailures
            self.addressFailures = addressFailures
            self.userSoftLimit = userSoftLimit
            self.maxDelay = maxDelay
            self.window = window
        }
    }

    /// What an admitted attempt counted, to take back on success or to extend the wait on failure.
    public struct Ticket: Sendable {
        let counted: [String]
        let userKey: String?
        let userCount: UInt64
    }

    /// May this attempt be judged?
    public enum Decision: Sendable {
        case judge(Ticket)
        /// Refused unseen; try again in this many seconds.
        case refuse(retryAfter: Int)
    }

    let store: SessionStore
    let limits: Limits

    public init(store: SessionStore, limits: Limits) {
        self.store = store
        self.limits = limits
    }

    /// Counts the attempt of `username` from `remote` (`device`: the id of a device cookie of that user, when the
    /// browser has one) and says whether it may be judged.
    public func admit(username: String, remote: String, device: String?, now: Int64) throws(StoreError) -> Decision {
        let address = ClientAddress.throttleKey(remote)
        let window = limits.window
        let addressKey = store.throttleKey(scope: "ip", subject: address)
        let addressCount = try store.kv.increment(addressKey, by: 1, ttl: window)
        var counted = [addressKey]
        if let device {
            // The user's own browser: counted by itself, never by what strangers do with the name.
            let deviceKey = store.throttleKey(scope: "dev", subject: device)
            let deviceCount = try store.kv.increment(deviceKey, by: 1, ttl: window)
            counted.append(deviceKey)
            // Not the address's count: a neighbour behind the same address could otherwise lock the user out.
            if deviceCount > UInt64(limits.pairFailures) {
                return .refuse(retryAfter: window)
            }
            return .judge(Ticket(counted: counted, userKey: nil, userCount: 0))
        }
        let pairKey = store.throttleKey(scope: "ua", subject: username + "\u{0}" + address)
        let pairCount = try store.kv.increment(pairKey, by: 1, ttl: window)
        let userKey = store.throttleKey(scope: "user", subject: username)
        let userCount = try store.kv.increment(userKey, by: 1, ttl: window)
        counted += [pairKey, userKey]
        if pairCount > UInt64(limits.pairFailures) || addressCount > UInt64(limits.addressFailures) {
            return .refuse(retryAfter: window)
        }
        if userCount > UInt64(limits.userSoftLimit), let until = try waitUntil(userKey), until > now {
            return .refuse(retryAfter: Int(until - now))
        }
        return .judge(Ticket(counted: counted, userKey: userKey, userCount: userCount))
    }

    /// The password was right: the attempt was no failure.
    public func succeeded(_ ticket: Ticket) throws(StoreError) {
        for key in ticket.counted { _ = try store.kv.decrement(key, by: 1) }
    }

    /// The password was wrong: past the soft limit, the next attempts for this user from browsers it does not know
    /// wait 2, 4, 8 … seconds, up to `maxDelay`.
    public func failed(_ ticket: Ticket, now: Int64) throws(StoreError) {
        guard let userKey = ticket.userKey, ticket.userCount > UInt64(limits.userSoftLimit) else { return }
        // In UInt64: the count is memcached's, any value up to 2^64 - 1 (past the guard it is above the soft limit).
        let steps = Int(min(ticket.userCount - UInt64(limits.userSoftLimit), 16))
        let delay = min(limits.maxDelay, 1 << steps)
        try store.kv.set(waitKey(userKey), Array(String(now + Int64(delay)).utf8), ttl: delay + 1)
    }

    private func waitKey(_ userKey: String) -> String { userKey + ":wait" }

    private func waitUntil(_ userKey: String) throws(StoreError) -> Int64? {
        guard let bytes = try store.kv.get(waitKey(userKey)) else { return nil }
        return Int64(String(decoding: bytes, as: UTF8.self))
    }
}
