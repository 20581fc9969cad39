/// The validated configuration both executables run on. Durations are seconds, sizes bytes.
public struct SSOConfig: Sendable {
    /// One FastCGI program's socket and threads.
    public struct Server: Sendable {
        /// Where it listens. Default: `unix:/run/sso/accounts.sock` / `unix:/run/sso/appauth.sock`.
        public var listen: ListenAddress
        /// Worker threads, each with its own request and memcached connection. Default: the number of cores.
        public var workers: Int
        /// Permission bits of a unix socket. Default: 0o660.
        public var socketMode: Int
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
    }

    /// Page branding.
    public struct Branding: Sendable {
        /// Product name in titles and headings. Default: `Single Sign-On`.
        public var productName: String
        /// Accent colour, CSS hex. Default: `#2f5bea`.
        public var accentColor: String
        /// Logo image URL path or data URL shown above the form; empty shows a monogram. Default: empty.
        public var logoURL: String
    }

    /// Server-side request caching across re-authentication (a POST whose session expired is kept and replayed once).
    public struct RequestCache: Sendable {
        /// Keep and replay requests at all. Default: true.
        public var enabled: Bool
        /// Largest body kept. Default: 1,048,576; larger submissions get the "not kept" page after sign-in.
        public var maxBodyBytes: Int
        /// Largest whole entry (body, headers, URL). Default: 1,572,864.
        public var maxEntryBytes: Int
        /// How long a kept request waits for the user to sign in again. Default: 600.
        public var ttl: Int
        /// The HttpOnly cookie that binds a kept request to the browser. Default: `__Host-sso_replay`.
        public var cookieName: String
        /// Seconds to wait for the app when replaying. Default: 60.
        public var backendTimeout: Int
        /// Largest app response relayed after a replay. Default: 16,777,216.
        public var maxResponseBytes: Int
    }

    /// Path of the file this came from.
    public var file: String
    /// The accounts server's public base URL; also the JWT issuer.
    public var accountsURL: Origin
    /// JWT audience every host checks. Default: `sso`.
    public var audience: String
    public var accounts: Server
    public var appAuth: Server
    public var memcached: MemcachedOptions
    /// Key namespace in memcached. Default: `sso:`.
    public var keyPrefix: String
    public var keys: [KeyEntry]
    /// The kid new tokens are signed with (accounts only).
    public var signingKID: String?
    /// JWT cookie name on every host. Default: `__Host-sso`.
    public var cookieName: String
    /// CSRF cookie of the sign-in form. Default: `__Host-sso_csrf`.
    public var csrfCookieName: String
    /// SameSite of the JWT cookie. Default: `Lax`.
    public var cookieSameSite: String
    /// Services.
    public var registry: ServiceRegistry
    /// Users file path.
    public var usersFile: String
    /// requestID lifetime. Default: 60.
    public var requestIDTTL: Int
    /// Absolute session lifetime. Default: 43,200 (12 h).
    public var sessionLifetime: Int64
    /// LAST_ACCESSED_TIME is written at most this often. Default: 60.
    public var lastAccessInterval: Int64
    /// SESSION_TIME_OUT for a user registered for no service. Default: 900.
    public var defaultIdleTimeout: Int64
    /// Failed sign-ins per user name (and 4× per address) before sign-in is refused for the window. Default: 5.
    public var maxLoginFailures: Int
    /// Window of the failure count. Default: 300.
    public var loginFailureWindow: Int
    /// Largest request body read. Default: 1,048,576; larger ones get 413.
    public var maxBodyBytes: Int
    /// Log level: trace, debug, info, notice, warning, error, critical. Default: info.
    public var logLevel: String
    public var branding: Branding
    public var requestCache: RequestCache
}
