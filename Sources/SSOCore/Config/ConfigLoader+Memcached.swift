import SSOStore

/// The memcached settings that only make sense together (docs/scaling.md).
extension ConfigLoader {
    /// Refuses a pool that cannot keep what `replicas` promises, or whose timeouts defeat each other.
    static func checkPool(_ m: MemcachedOptions, _ problem: (String, String?, String) -> Void) {
        if m.replicas > 0 && m.replicas >= m.servers.count {
            problem("memcached.replicas", String(m.replicas),
                    "0 to (number of servers - 1): each copy needs its own server (\(m.servers.count) listed)")
        }
        if let twice = ConfigLoader.repeated(m.servers) {
            problem("memcached.servers", twice, "each server once (this one is listed twice): two copies on one server are one copy")
        }
        let reading = saturating(m.connectTimeoutMS, m.pollTimeoutMS)
        if m.replicas > 0 && m.fenceLeaseMS <= reading {
            problem("memcached.fence_lease_ms", String(m.fenceLeaseMS),
                    "more than connect_timeout_ms + poll_timeout_ms (\(reading)): reading the fence list must fit in its lease")
        }
    }

    /// The longest TTL the SSO writes an item with, plus a margin: how long a tombstone must outlive a copy that missed it.
    static func longestItemTTL(_ c: ConfigReader.Scope) -> Int {
        let sessions = saturating(c.integer("sessions.lifetime"), 1)
        let handoffs = c.integer("sessions.request_id_ttl")
        let kept = saturating(c.integer("request_cache.ttl"), 30)
        let counters = c.integer("login.failure_window")
        return saturating(max(sessions, handoffs, kept, counters), 30)
    }

    /// `a + b`, or `Int.max` where that overflows: a config value near the integer limit is reported or clamped by the
    /// checks that read it, never a trap here (found by the config fuzz target).
    static func saturating(_ a: Int, _ b: Int) -> Int {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? (b > 0 ? Int.max : Int.min) : sum
    }
}
