import CXCrypt

/// crypt(3) password hashes through libxcrypt: verifies yescrypt (`$y$`), bcrypt (`$2b$`, `$2y$`, `$2a$`) and
/// sha512crypt (`$6$`) hashes, so `mkpasswd` and `htpasswd -B` output works as is; makes new yescrypt hashes.
public enum PasswordHash {
    /// Hash prefixes accepted in a users file.
    public static let supportedPrefixes = ["$y$", "$2b$", "$2y$", "$2a$", "$6$"]

    /// True when `hash` is a well-formed hash of a supported scheme (its fields and alphabet checked, no hashing, so a
    /// users file of costly hashes loads fast) and libxcrypt accepts it as a setting. `canHash` then proves the
    /// parameters with one real hash per cost. A hash whose cost is past the limits (`PasswordHashCost.swift`) is
    /// refused too.
    public static func isSupported(_ hash: String) -> Bool {
        guard supportedPrefixes.contains(where: { hash.hasPrefix($0) }), crypt_checksalt(hash) == CRYPT_SALT_OK else { return false }
        let fields = hash.split(separator: "$", omittingEmptySubsequences: false)
        let alphabet: (Substring) -> Bool = { $0.utf8.allSatisfy { c in
            (c >= 0x2E && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) } }  // ./0-9A-Za-z
        switch fields.count > 1 ? fields[1] : "" {
        case "2a", "2b", "2y":
            guard fields.count == 4, let cost = Int(fields[2]), (4...maxBcryptCost).contains(cost), fields[2].count == 2 else { return false }
            return fields[3].count == 53 && alphabet(fields[3])
        case "y":
            return fields.count == 5 && !fields[2].isEmpty && alphabet(fields[2]) && !fields[3].isEmpty && alphabet(fields[3])
                && fields[4].count == 43 && alphabet(fields[4]) && yescryptCost(params: fields[2]).map(\.isBounded) == true
        case "6":
            let rounds = fields.count == 5 && fields[2].hasPrefix("rounds=")
            if rounds { guard let n = Int(fields[2].dropFirst(7)), n <= maxSHA512Rounds else { return false } }
            let rest = rounds ? Array(fields[3...]) : Array(fields[2...])
            return rest.count == 2 && (1...16).contains(rest[0].count) && rest[1].count == 86 && alphabet(rest[1])
        default:
            return false
        }
    }

    /// True when libxcrypt really hashes with `hash`'s setting (its cost parameters are usable).
    public static func canHash(likeThis hash: String) -> Bool { crypt(password: "probe", setting: hash) != nil }

    /// Checks `password` against `hash`, comparing the outputs in constant time. False for an unusable hash.
    public static func verify(password: String, hash: String) -> Bool {
        guard let computed = crypt(password: password, setting: hash) else { return false }
        return Digest.constantTimeEqual(Array(computed.utf8), Array(hash.utf8))
    }

    /// A new yescrypt hash of `password` with a fresh salt from the OS CSPRNG.
    public static func make(password: String) throws -> String {
        var salt = [CChar](repeating: 0, count: Int(CRYPT_GENSALT_OUTPUT_SIZE))
        guard crypt_gensalt_rn("$y$", 0, nil, 0, &salt, Int32(salt.count)) != nil else {
            throw CryptoError("crypt_gensalt_rn")
        }
        let setting = String(decoding: salt.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let hash = crypt(password: password, setting: setting) else { throw CryptoError("crypt_rn") }
        return hash
    }

    /// A hash of a random password that costs what verifying most of `hashes` costs: made with the setting (scheme,
    /// cost and salt) of one hash of the largest group sharing a scheme and cost. A new yescrypt hash when there are none.
    public static func decoy(likeMostOf hashes: [String]) throws -> String {
        let groups = Dictionary(grouping: hashes, by: costSignature)
        guard let model = groups.max(by: { $0.value.count < $1.value.count || ($0.value.count == $1.value.count && $0.key > $1.key) })?.value.first,
              let hash = crypt(password: try SecureRandom.token(), setting: model) else {
            return try make(password: SecureRandom.token())
        }
        return hash
    }

    /// What makes two hashes cost the same to verify: the scheme and its cost parameter, without the salt
    /// (`$2b$12$`, `$y$j9T$`, `$6$rounds=5000$`; `$6$` for the default rounds).
    public static func costSignature(_ hash: String) -> String {
        let fields = hash.split(separator: "$", omittingEmptySubsequences: false)
        guard fields.count > 2 else { return hash }
        switch fields[1] {
        case "2a", "2b", "2y", "y": return "$\(fields[1])$\(fields[2])$"
        case "6": return fields[2].hasPrefix("rounds=") ? "$6$\(fields[2])$" : "$6$"
        default: return "$\(fields[1])$"
        }
    }

    private static func crypt(password: String, setting: String) -> String? {
        let data = UnsafeMutablePointer<crypt_data>.allocate(capacity: 1)
        defer {
            data.withMemoryRebound(to: UInt8.self, capacity: MemoryLayout<crypt_data>.size) {
                $0.update(repeating: 0, count: MemoryLayout<crypt_data>.size)
            }
            data.deallocate()
        }
        data.withMemoryRebound(to: UInt8.self, capacity: MemoryLayout<crypt_data>.size) {
            $0.update(repeating: 0, count: MemoryLayout<crypt_data>.size)
        }
        guard let out = crypt_rn(password, setting, data, Int32(MemoryLayout<crypt_data>.size)) else { return nil }
        let result = String(cString: out)
        // libxcrypt signals failure with a string starting with "*".
        return result.hasPrefix("*") ? nil : result
    }
}
