import FoundationEssentials
import Glibc
import SSOCrypto
import SSOJWT

/// Turns the key entries of a config into a `JWTKeySet`, reading the files.
public enum KeyLoader {
    /// Which half of the keys a program may hold.
    public enum Side: Sendable {
        /// The accounts host: the signing key's private half, and public keys of the rest.
        case accounts
        /// An app host: public keys (and HS256 secrets) only; private key files are never opened.
        case appHost
    }

    /// Loads the keys for `side`; throws `ConfigError` naming the key and file that failed.
    public static func load(_ config: SSOConfig, side: Side) throws -> JWTKeySet {
        var keys: [JWTKey] = []
        var p = ProblemList()
        for (index, entry) in config.keys.enumerated() {
            let key = "keys.list[\(index)]"
            // The file being read, for a key that does not load: the one named, not another of the entry's.
            var reading = entry.secretFile ?? entry.privateKeyFile ?? entry.publicKeyFile
            var readingKey = key + (entry.secretFile != nil ? ".secret_file" : "")
            do {
                if let secretFile = entry.secretFile {
                    let bytes = try bytesOf(secretFile, key: key + ".secret_file")
                    var secret = bytes
                    while let last = secret.last, last == 0x0A || last == 0x0D { secret.removeLast() }
                    keys.append(try JWTKey(kid: entry.kid, hmacSecret: secret))
                } else if side == .accounts, entry.kid == config.signingKID, let privateFile = entry.privateKeyFile {
                    (reading, readingKey) = (privateFile, key + ".private_key_file")
                    let privateKey = try PKey.privateKey(pem: try bytesOf(privateFile, key: readingKey))
                    // The app hosts verify with the public file: a private key of another pair signs tokens none accepts.
                    if let publicFile = entry.publicKeyFile {
                        (reading, readingKey) = (publicFile, key + ".public_key_file")
                        let publicKey = try PKey.publicKey(pem: try bytesOf(publicFile, key: readingKey))
                        guard privateKey.isPair(with: publicKey) else {
                            throw ConfigError(file: config.file, problems: [.init(key: readingKey, value: "\"\(publicFile)\"",
                                expected: "the public half of \(privateFile) (the app hosts verify its tokens with this file)")])
                        }
                    }
                    keys.append(JWTKey(kid: entry.kid, key: privateKey))
                } else if let publicFile = entry.publicKeyFile {
                    (reading, readingKey) = (publicFile, key + ".public_key_file")
                    keys.append(JWTKey(kid: entry.kid, key: try PKey.publicKey(pem: try bytesOf(publicFile, key: readingKey))))
                } else {
                    p.add(key + ".public_key_file", nil, expected: "a PEM public key file for verification")
                }
            } catch let error as CryptoError {
                p.add(readingKey, reading, expected: "a readable key (\(error))")
            } catch let error as ConfigError {
                p.problems += error.problems
            }
        }
        if side == .accounts && config.signingKID == nil {
            p.add("keys.signing_kid", nil, expected: "the kid of the key the accounts server signs with")
        }
        guard p.problems.isEmpty else { throw ConfigError(file: config.file, problems: p.problems) }
        do {
            return try JWTKeySet(keys: keys, signingKID: side == .accounts ? config.signingKID : nil)
        } catch {
            throw ConfigError(file: config.file, problems: [.init(key: "keys.signing_kid", value: config.signingKID ?? "",
                                                                  expected: "a kid with private_key_file or secret_file")])
        }
    }

    /// Largest key or secret file read, in bytes: `FileBytes.configLimit`, 1 MiB (a PEM key is under 1 KiB). A device or
    /// a huge file named by mistake is refused before it is read, rather than read for ever or into memory (and OpenSSL
    /// takes lengths as 32-bit ints).
    static let maxKeyFileBytes = FileBytes.configLimit

    /// The bytes of a key file; a problem names the config key that points at it.
    static func bytesOf(_ path: String, key: String) throws(ConfigError) -> [UInt8] {
        switch FileBytes.read(path, limit: maxKeyFileBytes) {
        case .success(let bytes): return bytes
        case .failure(let refusal):
            throw ConfigError(file: "", problems: [.init(key: key, value: "\"\(path)\"", expected: refusal.expected)])
        }
    }
}
