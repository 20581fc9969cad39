/// Where each metric lives in the program's `SharedCounters`: a fixed layout, the same in the supervisor and in every
/// worker process (all are this one program), so a slot means the same thing in each. Label values are closed lists
/// (the enums below); memcached servers are by their position in `memcached.servers`.
public enum MetricsLayout {
    /// Busy worker threads, one slot per live worker process (the supervisor hands them out and clears them).
    public static let busySlots = 0..<128
    /// Most memcached servers counted one by one; later ones share the last slot.
    public static let maxServers = 64

    /// Upper bounds of the check latency histogram's buckets, in seconds (Prometheus' `le`).
    public static let checkBuckets: [Double] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1]
    /// The same bounds in nanoseconds, for the hot path.
    static let checkBucketNanos: [Int64] = checkBuckets.map { Int64(($0 * 1e9).rounded()) }

    static let checks = busySlots.upperBound
    static let signIns = checks + CheckResult.allCases.count
    static let handoffs = signIns + SignInResult.allCases.count
    static let kept = handoffs + HandoffEvent.allCases.count
    static let dropped = kept + KeptEvent.allCases.count
    static let storeErrors = dropped + DropReason.allCases.count
    static let storeEjections = storeErrors + maxServers
    /// Per bucket (not cumulative), then one past the last bound, then the sum in nanoseconds, then the count.
    static let checkHistogram = storeEjections + maxServers
    static let checkSum = checkHistogram + checkBuckets.count + 1
    static let checkCount = checkSum + 1
    /// Slots the program's region needs.
    public static let count = checkCount + 1
}

/// `sso_checks_total{result}`: how the checks the web server asked for (nginx `auth_request`, Apache's authorizer) ended.
public enum CheckResult: Int, CaseIterable, Sendable {
    case valid, noCookie, badToken, notRegistered, noSession, wrongUser, expiredIdle, expiredAbsolute, fingerprintMismatch
    case storeUnavailable

    public var label: String {
        switch self {
        case .valid: "valid"
        case .noCookie: "no_cookie"
        case .badToken: "bad_token"
        case .notRegistered: "not_registered"
        case .noSession: "no_session"
        case .wrongUser: "wrong_user"
        case .expiredIdle: "expired_idle"
        case .expiredAbsolute: "expired_absolute"
        case .fingerprintMismatch: "fingerprint_mismatch"
        case .storeUnavailable: "store_unavailable"
        }
    }

    public init(_ refusal: SessionCheck.Refusal) {
        switch refusal {
        case .noToken: self = .noCookie
        case .badToken: self = .badToken
        case .notRegistered: self = .notRegistered
        case .noSession: self = .noSession
        case .expired: self = .expiredIdle
        case .expiredAbsolute: self = .expiredAbsolute
        case .wrongUser: self = .wrongUser
        case .fingerprint: self = .fingerprintMismatch
        }
    }
}

/// `sso_signins_total{result}`: POST /login on the accounts host.
public enum SignInResult: Int, CaseIterable, Sendable {
    /// Signed in.
    case ok
    /// Unknown user, wrong password or disabled account (not told apart, as the page does not).
    case badPassword
    /// Refused before the password was looked at: too many failures from the address or for the user.
    case throttled
    /// An expired or forged form (no valid form token).
    case badForm

    public var label: String {
        switch self {
        case .ok: "ok"
        case .badPassword: "bad_password"
        case .throttled: "throttled"
        case .badForm: "bad_form"
        }
    }
}

/// `sso_handoffs_total{event}`: requestIDs issued by the accounts host, redeemed or refused on app hosts.
public enum HandoffEvent: Int, CaseIterable, Sendable {
    case issued, redeemed, refused

    public var label: String {
        switch self {
        case .issued: "issued"
        case .redeemed: "redeemed"
        case .refused: "refused"
        }
    }
}

/// `sso_kept_submissions_total{event}`: forms kept across a sign-in, and delivered to the app afterwards.
public enum KeptEvent: Int, CaseIterable, Sendable {
    case kept, delivered

    public var label: String {
        switch self {
        case .kept: "kept"
        case .delivered: "delivered"
        }
    }
}

/// `sso_kept_submissions_dropped_total{reason}`: submissions that were not kept, or kept and never delivered.
public enum DropReason: Int, CaseIterable, Sendable {
    /// `request_cache.max_per_address` reached.
    case tooManyFromAddress
    /// `request_cache.max_per_user` reached.
    case tooManyForUser
    /// Not sent from a page of the same site.
    case crossOrigin
    /// No expired session of this host to tie it to.
    case noUser
    /// Over `request_cache.max_body_bytes` or `max_entry_bytes`.
    case tooLarge
    /// A content type that cannot be replayed.
    case contentType
    /// Its time ran out (or it was already delivered) before the user signed in again.
    case expired
    /// Another browser or user signed in.
    case otherSignIn
    /// Sent to the app with no answer back.
    case deliveryFailed

    public var label: String {
        switch self {
        case .tooManyFromAddress: "too_many_from_address"
        case .tooManyForUser: "too_many_for_user"
        case .crossOrigin: "cross_origin"
        case .noUser: "no_user"
        case .tooLarge: "too_large"
        case .contentType: "content_type"
        case .expired: "expired"
        case .otherSignIn: "other_sign_in"
        case .deliveryFailed: "delivery_failed"
        }
    }
}
