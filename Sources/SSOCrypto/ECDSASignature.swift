import COpenSSL

/// Converts ECDSA P-256 signatures between OpenSSL's DER form and JWS's raw `r || s` form.
enum ECDSASignature {
    static func derToRaw(_ der: [UInt8]) throws -> [UInt8] {
        var cursor: UnsafePointer<UInt8>? = nil
        let sig: OpaquePointer? = der.withUnsafeBufferPointer { buf in
            cursor = buf.baseAddress
            return d2i_ECDSA_SIG(nil, &cursor, buf.count)
        }
        guard let sig else { throw CryptoError("decode ECDSA signature", reason: drainOpenSSLErrors()) }
        defer { ECDSA_SIG_free(sig) }
        var out = [UInt8](repeating: 0, count: 64)
        guard let r = ECDSA_SIG_get0_r(sig), let s = ECDSA_SIG_get0_s(sig) else {
            throw CryptoError("decode ECDSA signature")
        }
        let ok = out.withUnsafeMutableBufferPointer { buf -> Bool in
            guard let base = buf.baseAddress else { return false }
            return BN_bn2binpad(r, base, 32) == 32 && BN_bn2binpad(s, base + 32, 32) == 32
        }
        guard ok else { throw CryptoError("encode ECDSA signature") }
        return out
    }

    static func rawToDER(_ raw: [UInt8]) -> [UInt8]? {
        guard raw.count == 64, let sig = ECDSA_SIG_new() else { return nil }
        defer { ECDSA_SIG_free(sig) }
        let r = BN_bin2bn(raw, 32, nil)
        let s = raw.withUnsafeBufferPointer { buf in BN_bin2bn(buf.baseAddress.map { $0 + 32 }, 32, nil) }
        guard let r, let s else { BN_free(r); BN_free(s); return nil }
        guard ECDSA_SIG_set0(sig, r, s) == 1 else { BN_free(r); BN_free(s); return nil }
        var out: UnsafeMutablePointer<UInt8>? = nil
        let length = i2d_ECDSA_SIG(sig, &out)
        guard length > 0, let out else { return nil }
        defer { CRYPTO_free(out, #file, #line) }
        return Array(UnsafeBufferPointer(start: out, count: Int(length)))
    }
}
