import FastCGI
import SSOStore

/// The validated configuration both executables run on. Durations are seconds, sizes bytes. Each field names the key it
/// comes from; its type, range, unit, default and meaning are declared once, in `Settings`.
public struct SSOConfig: Sendable {
    /// One FastCGI program's socket and threads.
    public struct Server: Sendable {
        /// `accounts.listen` / `app_auth.listen`.
        public var listen: ListenAddress
        /// `accounts.workers` / `app_auth.workers`: worker threads in each worker process.
        public var workers: Int
        /// `accounts.socket_mode` / `app_auth.socket_mode`.
        public var socketMode: Int
        /// `*.socket_group`, resolved to a gid; nil: the process's own group.
        public var socketGroup: UInt32? = nil
        /// `*.processes`: worker processes under a supervisor; 0: none.
        public var processes: Int = 0
        /// `*.idle_timeout`, seconds.
        public var idleTimeout: Int = 5
        /// `*.io_timeout`, seconds.
        public var ioTimeout: Int = 5
        /// `*.max_connections`.
        public var maxConnections: Int = 1024
        /// `*.allowed_users` (as uids) and `*.allowed_addresses`, plus `FCGI_WEB_SERVER_ADDRS`.
        public var peers = PeerFilter()
        /// Set (from hidden command-line flags) in a worker process started by a supervisor; nil otherwise.
        public var supervisor: Supervision? = nil
    }

    /// How a worker process relates to the supervisor that started it.
    public struct Supervision: Sendable {
        /// The supervisor's pid: the worker ends when it does.
        public var pid: Int32
        /// The supervisor owns the socket: a stopping worker serves what is queued on it.
        public var drainQueueOnStop: Bool
        /// The slot of the shared counters where this worker counts its busy threads; nil: the supervisor gave none
        /// (then the worker counts in a region of its own).
        public var busySlot: Int?
        public init(pid: Int32, drainQueueOnStop: Bool, busySlot: Int? = nil) {
            self.pid = pid
            self.drainQueueOnStop = drainQueueOnStop
            self.busySlot = busySlot
        }
    }

    /// A key as listed in the file (paths only; the bytes are read by `KeyLoader`).
    public struct KeyEntry: Sendable {
        public var kid: String
        /// PEM private key: only on the accounts host.
        public var privateKeyFile: String?
        /// PEM public key: what app hosts verify with.
        public var publicKeyFile: String?
        /// HS256 shared secret (at least 32 bytes).
        public var secretFile: String?
        /// `keys.list[].retired_at`: when the key stopped signing, seconds since 1970.
        public var retiredAt: Int64?
    }

    /// Page branding.
    public struct Branding: Sendable {
        /// `branding.product_name`.
        public var productName: String
        /// `branding.accent_color`.
        public var accentColor: String
        /// `branding.logo_url`.
        public var logoURL: String
    }

    /// Server-side request caching across re-authentication (a POST whose session expired is kept and replayed once).
    public struct RequestCache: Sendable {
        /// `request_cache.enabled`.
        public var enabled: Bool
        /// `request_cache.max_body_bytes`.
        public var maxBodyBytes: Int
        /// `request_cache.max_entry_bytes`.
        public var maxEntryBytes: Int
        /// `request_cache.ttl`, seconds.
        public var ttl: Int
        /// `request_cache.max_per_user`.
        public var maxPerUser: Int
        /// `request_cache.max_per_address`.
        public var maxPerAddress: Int
        /// `request_cache.cookie_name`.
        public var cookieName: String
        /// `request_cache.backend_timeout`, seconds.
        public var backendTimeout: Int
        /// `request_cache.max_response_bytes`.
        public var maxResponseBytes: Int
    }

    /// nginx's opt-in cache of the check's 200s (`decision_cache.*`).
    public struct DecisionCache: Sendable {
        /// `decision_cache.seconds`: 0 is off.
        public var seconds: Int
        /// `decision_cache.path`: absolute.
        public var path: String
        /// `decision_cache.zone_mb`, megabytes.
        public var zoneMB: Int

        public init(seconds: Int = 0, path: String = "/var/lib/nginx/sso-auth-cache", zoneMB: Int = 10) {
            self.seconds = seconds
            self.path = path
            self.zoneMB = zoneMB
        }
    }

    /// Path of the file this came from.
    public var file: String
    /// `accounts_url`: also the JWT issuer.
    public var accountsURL: Origin
    /// `audience`.
    public var audience: String
    public var accounts: Server
    public var appAuth: Server
    public var memcached: MemcachedOptions
    /// `memcached.prefix`.
    public var keyPrefix: String
    public var keys: [KeyEntry]
    /// `keys.signing_kid`.
    public var signingKID: String?
    /// `cookie.name`.
    public var cookieName: String
    /// `cookie.csrf_name`.
    public var csrfCookieName: String
    /// `cookie.state_name`.
    public var stateCookieName: String
    /// `cookie.device_name`.
    public var deviceCookieName: String
    /// `cookie.same_site`.
    public var cookieSameSite: String
    /// `services`.
    public var registry: ServiceRegistry
    /// `users_file`, resolved against the config file's folder.
    public var usersFile: String
    /// `users_reload_interval`, seconds (0: never).
    public var usersReloadInterval: Int
    /// `sessions.request_id_ttl`, seconds.
    public var requestIDTTL: Int
    /// `sessions.lifetime`, seconds.
    public var sessionLifetime: Int64
    /// `sessions.last_access_interval`, seconds.
    public var lastAccessInterval: Int64
    /// `sessions.default_idle_timeout`, seconds.
    public var defaultIdleTimeout: Int64
    /// `login.*`: the sign-in throttle's limits.
    public var signInLimits: SignInThrottle.Limits
    /// `limits.max_body_bytes`.
    public var maxBodyBytes: Int
    /// `log_level`.
    public var logLevel: String
    /// `audit.log_file`, resolved against the config file's folder; empty: off.
    public var auditLogFile: String
    public var branding: Branding
    public var requestCache: RequestCache
    public var decisionCache = DecisionCache()
}

extension SSOConfig {
    /// Every cookie an app host's browser may hold for the SSO: removed before a request is proxied to the app.
    public var appHostCookieNames: [String] { [cookieName, stateCookieName, requestCache.cookieName] }
}
