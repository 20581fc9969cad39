import ArgumentParser
import Foundation
import SSOCore

/// `ssoctl sessions list | revoke`.
struct Sessions: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List and end signed-in sessions (found through each user's session index in memcached).",
        subcommands: [List.self, Revoke.self])

    /// Whose sessions to look at: one user, or everyone in the users file.
    static func users(_ only: String?, _ cfg: SSOConfig) -> [String] {
        if let only { return [only] }
        guard let directory = try? UsersFileLoader.load(path: cfg.usersFile, registry: cfg.registry) else {
            fail("cannot read the users file \(cfg.usersFile); name a user with --user")
        }
        return directory.all.map(\.username)
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List live sessions: id prefix, user, created, last access, idle timeout, browser, services.")

        @OptionGroup var options: CtlOptions
        @Option(help: "Only this user's sessions.") var user: String?

        func run() throws {
            let cfg = try options.loadConfig()
            let store = try options.store(cfg)
            let now = currentTime()
            let sessions: [SessionAdmin.Info]
            do { sessions = try SessionAdmin(store: store).sessions(of: Sessions.users(user, cfg), now: now) } catch { fail("\(error)") }
            let services = (try? UsersFileLoader.load(path: cfg.usersFile, registry: cfg.registry))
            func svc(_ u: String) -> [String] { services?.user(u)?.services ?? [] }
            let time = { (t: Int64) in Date(timeIntervalSince1970: TimeInterval(t)).ISO8601Format() }
            var text = sessions.isEmpty ? "no live sessions" : "ID        USER             CREATED               LAST ACCESS           IDLE  BROWSER   SERVICES"
            for s in sessions {
                text += "\n" + [String(s.tokenID.prefix(8)), s.user.padding(toLength: 16, withPad: " ", startingAt: 0), time(s.created),
                                time(s.lastAccessedTime), String(s.sessionTimeout).padding(toLength: 5, withPad: " ", startingAt: 0),
                                String(s.fingerprint.prefix(8)), svc(s.user).joined(separator: ",")].joined(separator: "  ")
            }
            options.output(text, json: sessions.map { s -> [String: Any] in
                ["id": s.tokenID, "user": s.user, "created": s.created, "last_access": s.lastAccessedTime,
                 "idle_timeout": s.sessionTimeout, "expires": s.expiresAt, "fingerprint": s.fingerprint, "services": svc(s.user)]
            })
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "End sessions: they stop working on every host and domain at their next request.")

        @OptionGroup var options: CtlOptions
        @Option(help: "Every session of this user.") var user: String?
        @Option(help: "The session whose id starts with this (at least 6 characters, as `sessions list` shows; write --id=PREFIX, since an id may begin with -).") var id: String?
        @Flag(help: "Every session of every user in the users file.") var all = false

        func validate() throws {
            guard [user != nil, id != nil, all].filter({ $0 }).count == 1 else {
                throw ValidationError("give exactly one of --user, --id, --all")
            }
        }

        func run() throws {
            let cfg = try options.loadConfig()
            let admin = SessionAdmin(store: try options.store(cfg))
            let audit = options.audit(cfg)
            let now = currentTime()
            var ended = 0
            if let id {
                do {
                    let session = try admin.revoke(idPrefix: id, among: Sessions.users(nil, cfg), now: now)
                    ended = 1
                    audit.record("admin", [("action", "sessions revoke"), ("operator", operatorName()), ("user", session.user),
                                           ("session", String(session.tokenID.prefix(8)))], now: now)
                } catch { fail("\(error)") }
            } else {
                for name in Sessions.users(user, cfg) {
                    do { ended += try admin.revoke(user: name) } catch { fail("\(error)") }
                    audit.record("admin", [("action", "sessions revoke"), ("operator", operatorName()), ("user", name)], now: now)
                }
            }
            options.output("ended \(ended) session\(ended == 1 ? "" : "s")", json: ["ended": ended])
        }
    }
}
