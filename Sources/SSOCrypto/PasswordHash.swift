import CXCrypt

/// crypt(3) password hashes through libxcrypt: verifies yescrypt (`$y$`), bcrypt (`$2b$`, `$2y$`, `$2a$`) and
/// sha512crypt (`$6$`) hashes, so `mkpasswd` and `htpasswd -B` output works as is; makes new yescrypt hashes.
public enum PasswordHash {
    /// Hash prefixes accepted in a users file.
    public static let supportedPrefixes = ["$y$", "$2b$", "$2y$", "$2a$", "$6$"]

    /// True when `hash` has a supported prefix and libxcrypt accepts it as a setting.
    public static func isSupported(_ hash: String) -> Bool {
        guard supportedPrefixes.contains(where: { hash.hasPrefix($0) }) else { return false }
        return crypt(password: "probe", setting: hash) != nil
    }

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
