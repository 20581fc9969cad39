import COpenSSL

/// The one owner of an OpenSSL `EVP_PKEY`: an Ed25519 or P-256 key, private or public only. Frees it in `deinit`.
public final class PKey: @unchecked Sendable {
    /// The kinds of asymmetric key the JWT layer signs with.
    public enum Kind: String, Sendable { case ed25519, p256 }

    let pointer: OpaquePointer
    /// Which curve this key is on.
    public let kind: Kind
    /// True when the private half is present (the accounts side); app hosts load public keys only.
    public let hasPrivate: Bool

    /// Takes ownership of `pointer` (freed in `deinit`, or here if the key is of a kind this project does not use).
    convenience init(owning pointer: OpaquePointer, hasPrivate: Bool) throws {
        try self.init(pointer: pointer, hasPrivate: hasPrivate)
    }

    private init(pointer: OpaquePointer, hasPrivate: Bool) throws {
        let id = EVP_PKEY_get_base_id(pointer)
        if id == EVP_PKEY_ED25519 {
            kind = .ed25519
        } else if id == EVP_PKEY_EC {
            var name = [CChar](repeating: 0, count: 64)
            var length = 0
            guard EVP_PKEY_get_group_name(pointer, &name, name.count, &length) == 1 else {
                EVP_PKEY_free(pointer)
                throw CryptoError("read EC group", reason: drainOpenSSLErrors())
            }
            let group = String(decoding: name.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard group == "prime256v1" || group == "P-256" else {
                EVP_PKEY_free(pointer)
                throw CryptoError("load key", reason: "EC curve \(group) is not supported (expected P-256)")
            }
            kind = .p256
        } else {
            EVP_PKEY_free(pointer)
            throw CryptoError("load key", reason: "key type \(id) is not supported (expected Ed25519 or EC P-256)")
        }
        self.pointer = pointer
        self.hasPrivate = hasPrivate
    }

    deinit { EVP_PKEY_free(pointer) }

    /// Loads a PEM private key (PKCS#8 or traditional) from its bytes.
    public static func privateKey(pem: [UInt8]) throws -> PKey {
        guard let key = readPEM(pem, { bio in PEM_read_bio_PrivateKey(bio, nil, nil, nil) }) else {
            throw CryptoError("load PEM private key", reason: drainOpenSSLErrors())
        }
        return try PKey(pointer: key, hasPrivate: true)
    }

    /// Loads a PEM public key (SubjectPublicKeyInfo, `-----BEGIN PUBLIC KEY-----`) from its bytes.
    public static func publicKey(pem: [UInt8]) throws -> PKey {
        guard let key = readPEM(pem, { bio in PEM_read_bio_PUBKEY(bio, nil, nil, nil) }) else {
            throw CryptoError("load PEM public key", reason: drainOpenSSLErrors())
        }
        return try PKey(pointer: key, hasPrivate: false)
    }

    /// An Ed25519 key from its raw 32-byte private seed (RFC 8032), as in RFC 8037's test vectors.
    public static func ed25519(privateRaw: [UInt8]) throws -> PKey {
        guard privateRaw.count == 32, let key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nil, privateRaw, 32) else {
            throw CryptoError("load raw Ed25519 private key", reason: drainOpenSSLErrors())
        }
        return try PKey(pointer: key, hasPrivate: true)
    }

    /// An Ed25519 public key from its raw 32 bytes.
    public static func ed25519(publicRaw: [UInt8]) throws -> PKey {
        guard publicRaw.count == 32, let key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, publicRaw, 32) else {
            throw CryptoError("load raw Ed25519 public key", reason: drainOpenSSLErrors())
        }
        return try PKey(pointer: key, hasPrivate: false)
    }

    private static func readPEM(_ pem: [UInt8], _ read: (OpaquePointer?) -> OpaquePointer?) -> OpaquePointer? {
        pem.withUnsafeBytes { raw -> OpaquePointer? in
            guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else { return nil }
            defer { BIO_free(bio) }
            return read(bio)
        }
    }

    /// Signs `message`: Ed25519 (64 bytes) or ECDSA P-256 with SHA-256 as raw `r || s` (64 bytes, RFC 7518 §3.4).
    public func sign(_ message: [UInt8]) throws -> [UInt8] {
        guard hasPrivate else { throw CryptoError("sign", reason: "this is a public key") }
        guard let ctx = EVP_MD_CTX_new() else { throw CryptoError("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(ctx) }
        let md = kind == .p256 ? EVP_sha256() : nil
        guard EVP_DigestSignInit(ctx, nil, md, nil, pointer) == 1 else {
            throw CryptoError("EVP_DigestSignInit", reason: drainOpenSSLErrors())
        }
        var length = 0
        guard EVP_DigestSign(ctx, nil, &length, message, message.count) == 1 else {
            throw CryptoError("EVP_DigestSign", reason: drainOpenSSLErrors())
        }
        var signature = [UInt8](repeating: 0, count: length)
        guard EVP_DigestSign(ctx, &signature, &length, message, message.count) == 1 else {
            throw CryptoError("EVP_DigestSign", reason: drainOpenSSLErrors())
        }
        signature.removeSubrange(length...)
        return kind == .p256 ? try ECDSASignature.derToRaw(signature) : signature
    }

    /// Verifies `signature` over `message`; false for any malformed or wrong signature (never throws on bad input).
    /// True when `publicKey` verifies what this private key signs: the two halves of one pair.
    public func isPair(with publicKey: PKey) -> Bool {
        let probe = Array("sso key pair".utf8)
        guard let signature = try? sign(probe) else { return false }
        return publicKey.verify(signature, message: probe)
    }

    public func verify(_ signature: [UInt8], message: [UInt8]) -> Bool {
        var sig = signature
        if kind == .p256 {
            guard signature.count == 64, let der = ECDSASignature.rawToDER(signature) else { return false }
            sig = der
        } else if signature.count != 64 {
            return false
        }
        guard let ctx = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(ctx) }
        let md = kind == .p256 ? EVP_sha256() : nil
        guard EVP_DigestVerifyInit(ctx, nil, md, nil, pointer) == 1 else { _ = drainOpenSSLErrors(); return false }
        let ok = EVP_DigestVerify(ctx, sig, sig.count, message, message.count) == 1
        if !ok { _ = drainOpenSSLErrors() }
        return ok
    }
}
