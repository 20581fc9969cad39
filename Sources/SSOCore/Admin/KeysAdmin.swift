import FoundationEssentials
import Glibc
import SSOCrypto
import SSOJWT
import SSOYAML

/// What `ssoctl keys` does: make key pairs, rotate the signing key in the config without logging anyone out, and prune
/// keys whose every token has expired. Rotation: a new key is added to `keys.list` and becomes `signing_kid`; the old
/// one stays listed (its tokens still verify) with `retired_at`; once `sessions.lifetime` (and the clock leeway) has
/// passed since then, no token it signed can still be valid, and `prune` removes it. App hosts need each new public key
/// before the accounts host signs with it: `keys generate` the pair, copy the `.pub.pem` to them, then `keys rotate` to it
/// (`existing`; docs/operations.md).
public struct KeysAdmin {
    /// The config file.
    public let path: String
    public let config: SSOConfig

    public init(path: String, config: SSOConfig) {
        self.path = path
        self.config = config
    }

    /// The files of a new key pair.
    public struct Generated: Sendable, Equatable {
        public let kid: String
        public let privateKeyFile: String
        public let publicKeyFile: String
    }

    /// Writes a new key pair as `<kid>.pem` (mode 0600) and `<kid>.pub.pem` (0644) into `folder`; refuses to overwrite.
    /// A folder whose group is not this process's (the package's `/etc/sso/keys` is root:sso 0750) gives the private
    /// key that group and mode 0640: the programs, running as that group, read a rotated key with no chgrp by hand.
    public static func generate(kid: String, kind: PKey.Kind, folder: String) throws -> Generated {
        guard ConfigLoader.isToken(kid) else { throw AdminError("a kid is 1 to 64 of letters, digits, - and _") }
        let privatePath = folder + "/" + kid + ".pem", publicPath = folder + "/" + kid + ".pub.pem"
        for p in [privatePath, publicPath] where FileManager.default.fileExists(atPath: p) {
            throw AdminError("\(p) exists already: choose another kid")
        }
        let key = try PKey.generate(kind)
        var info = stat()
        let group = stat(folder, &info) == 0 && info.st_gid != getegid() ? info.st_gid : nil
        try write(try key.privatePEM(), to: privatePath, mode: 0o600, group: group)
        try write(try key.publicPEM(), to: publicPath, mode: 0o644)
        return Generated(kid: kid, privateKeyFile: privatePath, publicKeyFile: publicPath)
    }

    /// The pair `keys generate` wrote as `<kid>.pem` and `<kid>.pub.pem` in `folder`, for a rotation to the key the app
    /// hosts already have: nil when neither file is there; throws when only one is, or when they do not load or are not
    /// one pair (a message signed with the private key must verify with the public one).
    public static func existing(kid: String, folder: String) throws -> Generated? {
        guard ConfigLoader.isToken(kid) else { throw AdminError("a kid is 1 to 64 of letters, digits, - and _") }
        let privatePath = folder + "/" + kid + ".pem", publicPath = folder + "/" + kid + ".pub.pem"
        let present = [privatePath, publicPath].filter { FileManager.default.fileExists(atPath: $0) }
        guard !present.isEmpty else { return nil }
        guard present.count == 2 else { throw AdminError("only \(present[0]) exists: a rotation needs both \(kid).pem and \(kid).pub.pem") }
        let pair: (PKey, PKey)
        do {
            pair = (try PKey.privateKey(pem: try KeyLoader.bytesOf(privatePath, key: "private key")),
                    try PKey.publicKey(pem: try KeyLoader.bytesOf(publicPath, key: "public key")))
        } catch {
            throw AdminError("\(privatePath) and \(publicPath) do not load as keys: \(error)")
        }
        guard pair.0.isPair(with: pair.1) else {
            throw AdminError("\(publicPath) is not the public half of \(privatePath)")
        }
        return Generated(kid: kid, privateKeyFile: privatePath, publicKeyFile: publicPath)
    }

    /// Creates `path` with `mode` (readable by `group` too, when given, before any byte is written) and fsyncs it.
    private static func write(_ bytes: [UInt8], to path: String, mode: mode_t, group: gid_t? = nil) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw AdminError("cannot create \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        if let group {
            guard fchown(fd, uid_t.max, group) == 0, fchmod(fd, mode | S_IRGRP) == 0 else {
                throw AdminError("cannot give \(path) group \(group): \(String(cString: strerror(errno)))")
            }
        }
        let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard n == bytes.count, fsync(fd) == 0 else { throw AdminError("cannot write \(path)") }
    }

    /// Adds `key` to the config's `keys.list`, makes it `signing_kid`, and marks the key that signed until now
    /// `retired_at: now`. The config is checked by loading it before it replaces the file.
    public func rotate(to key: Generated, now: Int64) throws {
        var editor = try YAMLLineEditor(path: path)
        guard !config.keys.contains(where: { $0.kid == key.kid }) else { throw AdminError("kid \(key.kid) is listed already") }
        if let old = config.signingKID,
           let entry = try editor.items("keys.list").first(where: { $0["kid"]?.string == old }) {
            try editor.set("retired_at", to: String(now), in: entry)
        }
        try editor.appendItem(["- kid: \(JSONString.quote(key.kid))",
                               "  private_key_file: \(JSONString.quote(key.privateKeyFile))",
                               "  public_key_file: \(JSONString.quote(key.publicKeyFile))"], to: "keys.list")
        guard let signing = editor.node("keys")?.mapping else { throw AdminError("\(path) has no keys section") }
        try editor.set("signing_kid", to: JSONString.quote(key.kid), in: signing)
        try editor.write { temp in
            let loaded = try ConfigLoader.load(path: temp)
            _ = try KeyLoader.load(loaded, side: .accounts)
        }
    }

    /// The keys `prune` would remove at `now`: retired, and retired long enough that every token they signed expired.
    public func prunable(now: Int64) -> [SSOConfig.KeyEntry] {
        config.keys.filter { key in
            guard key.kid != config.signingKID, let retired = key.retiredAt else { return false }
            return now >= retired + config.sessionLifetime + JWTCodecLeeway.seconds
        }
    }

    /// Removes the prunable keys from `keys.list`; returns them (their files can then be deleted).
    public func prune(now: Int64) throws -> [SSOConfig.KeyEntry] {
        let gone = prunable(now: now)
        guard !gone.isEmpty else { return [] }
        var editor = try YAMLLineEditor(path: path)
        // From the last, so the indices of the others stay right.
        for (index, item) in try editor.items("keys.list").enumerated().reversed()
        where gone.contains(where: { $0.kid == item["kid"]?.string }) {
            try editor.removeItem(index, of: "keys.list")
        }
        try editor.write { temp in _ = try ConfigLoader.load(path: temp) }
        return gone
    }
}

/// The clock skew tokens are allowed, from the JWT layer, in seconds.
enum JWTCodecLeeway {
    static let seconds: Int64 = JWTCodec.defaultLeeway
}
