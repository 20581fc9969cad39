import ArgumentParser
import Foundation
import SSOCore
import SSOCrypto

/// `ssoctl keys generate | rotate | prune`.
struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make signing keys, rotate the signing key without logging anyone out, prune retired keys.",
        subcommands: [Generate.self, Rotate.self, Prune.self])

    static func kind(_ text: String) throws -> PKey.Kind {
        guard let kind = PKey.Kind(rawValue: text) else { throw ValidationError("--algorithm is ed25519 or p256") }
        return kind
    }

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a new key pair <kid>.pem (0600; 0640 in the folder's group when that is not yours) and <kid>.pub.pem (0644).",
            discussion: "To rotate to it once every app host has the .pub.pem: ssoctl keys rotate --kid <kid>.")
        @OptionGroup var options: CtlOptions
        @Option(help: "The key id.") var kid: String
        @Option(help: "The folder to write to.") var dir = "/etc/sso/keys"
        @Option(help: "ed25519 or p256.") var algorithm = "ed25519"

        func run() throws {
            let key: KeysAdmin.Generated
            do { key = try KeysAdmin.generate(kid: kid, kind: try Keys.kind(algorithm), folder: dir) } catch { fail("\(error)") }
            options.output("wrote \(key.privateKeyFile) and \(key.publicKeyFile)",
                           json: ["kid": key.kid, "private_key_file": key.privateKeyFile, "public_key_file": key.publicKeyFile])
        }
    }

    struct Rotate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sign with a new key: the pair `keys generate` made for --kid, or a new one; the old key stays for verification until pruned.",
            discussion: """
                The config names the new key at once, and AccountsFCGI signs with it from its next start (a restart, a \
                reload, or a worker replaced after a crash). So first `ssoctl keys generate --kid K`, copy K.pub.pem to \
                every app host and restart AppAuthFCGI there, then `ssoctl keys rotate --kid K` and restart AccountsFCGI.
                """)
        @OptionGroup var options: CtlOptions
        @Option(help: "The new key id: its pair from `keys generate` in the folder is used when there. Default: a new key ed-<yyyymmdd>-<n>.") var kid: String?
        @Option(help: "The folder for the key files. Default: the folder of the signing key.") var dir: String?
        @Option(help: "ed25519 or p256.") var algorithm = "ed25519"

        func run() throws {
            let cfg = try options.loadConfig()
            let now = currentTime()
            let stamp = Date(timeIntervalSince1970: TimeInterval(now)).ISO8601Format().prefix(10).replacingOccurrences(of: "-", with: "")
            let newKID = kid ?? "ed-\(stamp)-\(now % 100_000)"
            let folder = dir ?? cfg.keys.first { $0.kid == cfg.signingKID }?.privateKeyFile.map { ($0 as NSString).deletingLastPathComponent }
                ?? "/etc/sso/keys"
            do {
                let key = try KeysAdmin.existing(kid: newKID, folder: folder)
                    ?? KeysAdmin.generate(kid: newKID, kind: try Keys.kind(algorithm), folder: folder)
                try KeysAdmin(path: options.config, config: cfg).rotate(to: key, now: now)
                options.audit(cfg).record("admin", [("action", "keys rotate"), ("operator", operatorName()), ("kid", newKID),
                                                    ("retired", cfg.signingKID ?? "")], now: now)
                options.output("""
                    signing with \(newKID) (\(key.publicKeyFile)); \(cfg.signingKID ?? "the old key") stays for verification.
                    Every app host must have \(key.publicKeyFile) (and AppAuthFCGI restarted there) before AccountsFCGI is restarted.
                    """, json: ["kid": newKID, "private_key_file": key.privateKeyFile, "public_key_file": key.publicKeyFile,
                                "retired": cfg.signingKID ?? ""])
            } catch { fail("\(error)") }
        }
    }

    struct Prune: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove retired keys once every token they signed has expired (sessions.lifetime after retiring).")
        @OptionGroup var options: CtlOptions
        @Flag(help: "Only say what would be removed.") var dryRun = false

        func run() throws {
            let cfg = try options.loadConfig()
            let admin = KeysAdmin(path: options.config, config: cfg)
            let now = currentTime()
            let gone: [SSOConfig.KeyEntry]
            do { gone = dryRun ? admin.prunable(now: now) : try admin.prune(now: now) } catch { fail("\(error)") }
            if !dryRun && !gone.isEmpty {
                options.audit(cfg).record("admin", [("action", "keys prune"), ("operator", operatorName()),
                                                    ("kids", gone.map(\.kid).joined(separator: ","))], now: now)
            }
            options.output(gone.isEmpty ? "nothing to prune" : (dryRun ? "would remove " : "removed ") + gone.map(\.kid).joined(separator: ", "),
                           json: gone.map { ["kid": $0.kid, "private_key_file": $0.privateKeyFile ?? "", "public_key_file": $0.publicKeyFile ?? ""] })
        }
    }
}
