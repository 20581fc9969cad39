import COpenSSL

extension PKey {
    /// A new key pair of `kind` from OpenSSL's CSPRNG.
    public static func generate(_ kind: Kind) throws -> PKey {
        let raw: OpaquePointer?
        switch kind {
        case .ed25519: raw = EVP_PKEY_Q_keygen_ed25519()
        case .p256: raw = EVP_PKEY_Q_keygen_p256()
        }
        guard let raw else { throw CryptoError("generate \(kind.rawValue) key", reason: drainOpenSSLErrors()) }
        return try PKey(owning: raw, hasPrivate: true)
    }

    /// The private key as PEM (PKCS#8), to write to a file only its owner can read.
    public func privatePEM() throws -> [UInt8] {
        guard hasPrivate else { throw CryptoError("export private key", reason: "this is a public key") }
        return try Self.pem { bio in PEM_write_bio_PrivateKey(bio, pointer, nil, nil, 0, nil, nil) }
    }

    /// The public key as PEM (SubjectPublicKeyInfo), what app hosts verify with.
    public func publicPEM() throws -> [UInt8] {
        try Self.pem { bio in PEM_write_bio_PUBKEY(bio, pointer) }
    }

    private static func pem(_ write: (OpaquePointer) -> Int32) throws -> [UInt8] {
        guard let bio = BIO_new(BIO_s_mem()) else { throw CryptoError("BIO_new") }
        defer { BIO_free(bio) }
        guard write(bio) == 1 else { throw CryptoError("write PEM", reason: drainOpenSSLErrors()) }
        var data: UnsafeMutablePointer<CChar>? = nil
        let length = sso_bio_get_mem_data(bio, &data)
        guard length > 0, let data else { throw CryptoError("read PEM") }
        return data.withMemoryRebound(to: UInt8.self, capacity: length) { Array(UnsafeBufferPointer(start: $0, count: length)) }
    }
}
