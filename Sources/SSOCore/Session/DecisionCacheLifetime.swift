/// How long nginx may answer the check from a kept 200 (`decision_cache.seconds`, docs/nginx.md): the value of
/// `X-Accel-Expires` on a passing check.
extension SessionCheck.Identity {
    /// Whole seconds nginx may keep this answer at `now` (seconds since 1970), at most `limit` (`decision_cache.seconds`;
    /// 0 is off), and short of every end the session has: its idle deadline (LAST_ACCESSED_TIME + SESSION_TIME_OUT), its
    /// absolute expiry and the token's `exp`. One second short, because nginx serves an entry through the whole second
    /// its expiry names (`valid_sec < now` is stale in ngx_http_file_cache.c). 0 means "do not keep".
    public func decisionCacheSeconds(limit: Int, now: Int64) -> Int {
        guard limit > 0 else { return 0 }
        let end = min(session.lastAccessedTime + session.sessionTimeout, session.expiresAt, claims.exp)
        let left = end - now - 1
        return left < 1 ? 0 : Int(min(Int64(limit), left))
    }
}
