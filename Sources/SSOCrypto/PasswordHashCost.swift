/// How much a hash costs to verify, read from its setting, so a users file cannot hold a hash whose cost would keep a
/// worker (and the loader's one probe hash per cost) busy for minutes or days: the formats allow bcrypt cost 31
/// (about a month here) and 999,999,999 sha512crypt rounds (about 4 minutes).
extension PasswordHash {
    /// Highest bcrypt cost accepted. Default 17, the highest `htpasswd -B -C` makes: about 6 s per sign-in on the
    /// 2-core machine of BENCHMARKS.md (cost 12 takes 0.2 s).
    static let maxBcryptCost = 17
    /// Most sha512crypt rounds accepted. Default 10,000,000: about 2.5 s (the default 5,000 takes 1 ms).
    static let maxSHA512Rounds = 10_000_000
    /// Most memory a yescrypt hash may ask for, in bytes. Default 1 GiB: `mkpasswd -R 11`, its highest setting.
    static let maxYescryptMemory: UInt64 = 1 << 30
    /// Most lanes times passes of a yescrypt hash (`p` × (`t` + 1)). Default 4; `mkpasswd` makes 1.
    static let maxYescryptPasses: UInt64 = 4

    /// Lowest bcrypt cost not called cheap. Default 10 (OWASP's floor; `htpasswd -B` makes 5, about 2 ms per guess).
    public static let minBcryptCost = 10
    /// Fewest sha512crypt rounds not called cheap. Default 5,000, what `mkpasswd -m sha-512` makes without `-R`.
    public static let minSHA512Rounds = 5_000

    /// Why `hash` is cheap to crack if the users file is stolen, e.g. "bcrypt cost 5 (at least 10)"; nil for a hash of
    /// at least `minBcryptCost` or `minSHA512Rounds`, and for every yescrypt hash (its lowest setting is still memory-hard).
    public static func cheapness(_ hash: String) -> String? {
        let fields = hash.split(separator: "$", omittingEmptySubsequences: false)
        guard fields.count > 2 else { return nil }
        switch fields[1] {
        case "2a", "2b", "2y":
            guard let cost = Int(fields[2]), cost < minBcryptCost else { return nil }
            return "bcrypt cost \(cost) (at least \(minBcryptCost))"
        case "6":
            guard fields[2].hasPrefix("rounds="), let rounds = Int(fields[2].dropFirst(7)), rounds < minSHA512Rounds else { return nil }
            return "sha512crypt \(rounds) rounds (at least \(minSHA512Rounds))"
        default:
            return nil
        }
    }

    /// yescrypt's cost parameters, as libxcrypt decodes them from the setting (`$y$<params>$salt$hash`).
    struct YescryptCost: Equatable {
        /// log2 of N, the block count.
        let nLog2: UInt32
        /// Block size factor.
        let r: UInt32
        /// Lanes (default 1).
        let p: UInt32
        /// Extra passes (default 0).
        let t: UInt32

        /// Bytes of the main memory array, 128 × r × N, saturating at `UInt64.max`.
        var memoryBytes: UInt64 {
            guard nLog2 < 64 else { return .max }
            let (rn, overflow) = (UInt64(r) * 128).multipliedReportingOverflow(by: UInt64(1) << UInt64(nLog2))
            return overflow ? .max : rn
        }

        /// True within `maxYescryptMemory` and `maxYescryptPasses`.
        var isBounded: Bool {
            memoryBytes <= PasswordHash.maxYescryptMemory && UInt64(p) * (UInt64(t) + 1) <= PasswordHash.maxYescryptPasses
        }
    }

    /// The cost parameters of a yescrypt hash (`$y$…`); nil when they do not decode.
    static func yescryptCost(_ hash: String) -> YescryptCost? {
        let fields = hash.split(separator: "$", omittingEmptySubsequences: false)
        guard fields.count > 2, fields[1] == "y" else { return nil }
        return yescryptCost(params: fields[2])
    }

    /// yescrypt's cost parameters from the params field of its setting, decoded as libxcrypt's
    /// `yescrypt_decode_params` does; nil when they do not decode.
    static func yescryptCost(params field: Substring) -> YescryptCost? {
        var params = Array(field.utf8)[...]
        guard decode64(&params, min: 0) != nil,  // the flavor: libxcrypt's crypt_checksalt has judged it
              let nLog2 = decode64(&params, min: 1), nLog2 <= 63,
              let r = decode64(&params, min: 1) else { return nil }
        var p: UInt32 = 1, t: UInt32 = 0
        if !params.isEmpty {
            guard let have = decode64(&params, min: 1) else { return nil }
            if have & 1 != 0 { guard let value = decode64(&params, min: 2) else { return nil }; p = value }
            if have & 2 != 0 { guard let value = decode64(&params, min: 1) else { return nil }; t = value }
            if have & 4 != 0 { guard decode64(&params, min: 1) != nil else { return nil } }  // g: upgrades
            if have & 8 != 0 { guard let rom = decode64(&params, min: 1), rom <= 63 else { return nil } }  // NROM
        }
        guard params.isEmpty else { return nil }
        return YescryptCost(nLog2: nLog2, r: r, p: p, t: t)
    }

    /// One of yescrypt's variable-length numbers from the front of `chars` (its first character says how many follow),
    /// plus `min`; nil at a character outside crypt's base-64 alphabet or past the end. Wrapping arithmetic, as C's.
    private static func decode64(_ chars: inout ArraySlice<UInt8>, min: UInt32) -> UInt32? {
        guard let first = chars.popFirst(), let c = atoi64(first) else { return nil }
        var start: UInt32 = 0, end: UInt32 = 47, count = 1, bits: UInt32 = 0
        var value = min
        while c > end {
            value = value &+ ((end + 1 - start) &<< bits)
            start = end + 1
            end = start + (62 - end) / 2
            count += 1
            bits += 6
        }
        value = value &+ ((c - start) &<< bits)
        while count > 1 {
            guard let next = chars.popFirst(), let d = atoi64(next) else { return nil }
            bits -= 6
            value = value &+ (d &<< bits)
            count -= 1
        }
        return value
    }

    /// The value of a character of crypt's base-64 alphabet (`./0-9A-Za-z`); nil for any other.
    private static func atoi64(_ c: UInt8) -> UInt32? {
        switch c {
        case UInt8(ascii: "."), UInt8(ascii: "/"): return UInt32(c - UInt8(ascii: "."))
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(c - UInt8(ascii: "0")) + 2
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return UInt32(c - UInt8(ascii: "A")) + 12
        case UInt8(ascii: "a")...UInt8(ascii: "z"): return UInt32(c - UInt8(ascii: "a")) + 38
        default: return nil
        }
    }
}
