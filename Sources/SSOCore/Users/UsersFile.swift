import FoundationEssentials
import Glibc
import Logging
import SSOStore
import Synchronization

/// The users file as the accounts host serves it, reloaded when it changes on disk. When a reload finds users whose
/// access changed (removed, disabled, another password or other services), all their sessions are ended, on every host
/// and domain: the bound is `users_reload_interval` plus the time to the session's next check (while memcached does not
/// answer, they are ended at the first look after it does, the file changed again or not). A file that does not
/// load (half written, a mistake) leaves the last good one in place and is reported.
public final class UsersFile: Sendable {
    public let path: String
    let registry: ServiceRegistry
    private struct State {
        var directory: UserDirectory
        var stamp: Stamp?
    }
    private let state: Mutex<State>
    /// Users whose access changed and whose sessions could not all be ended yet (memcached did not answer): tried
    /// again at every look, whether or not the file changed again, until it works.
    private let pending = Mutex<Set<String>>([])

    /// What identifies a version of the file without reading it.
    typealias Stamp = FileFacts

    public init(path: String, registry: ServiceRegistry) throws {
        self.path = path
        self.registry = registry
        let stamp = Self.stamp(path)
        state = Mutex(State(directory: try UsersFileLoader.load(path: path, registry: registry), stamp: stamp))
    }

    /// The users as last loaded.
    public var current: UserDirectory { state.withLock { $0.directory } }

    static func stamp(_ path: String) -> Stamp? { FileFacts(path: path) }

    /// The outcome of one look at the file.
    public enum Reload: Equatable {
        case unchanged
        /// Loaded; these users' access changed.
        case reloaded(changed: [String])
        /// The file changed but does not load: the problems, the old users stay.
        case refused(String)
    }

    /// Loads the file again when its stamp changed.
    public func reloadIfChanged() -> Reload {
        let stamp = Self.stamp(path)
        guard stamp != state.withLock({ $0.stamp }) else { return .unchanged }
        do {
            let fresh = try UsersFileLoader.load(path: path, registry: registry)
            let changed = state.withLock { s -> [String] in
                let changed = s.directory.usersWhoseAccessChanged(in: fresh)
                s.directory = fresh
                s.stamp = stamp
                return changed
            }
            return .reloaded(changed: changed)
        } catch {
            state.withLock { $0.stamp = stamp }  // reported once per version of the file
            return .refused("\(error)")
        }
    }

    /// Reloads when changed and ends the sessions of users whose access changed, and of those whose sessions could not
    /// be ended at an earlier look; logs what happened.
    public func refresh(sessions: SessionStore, logger: Logger, audit: AuditLog = .off, now: Int64 = 0) {
        var changed: [String] = []
        switch reloadIfChanged() {
        case .unchanged:
            break
        case .refused(let problems):
            logger.error("users file not reloaded: the last good one stays", metadata: ["file": "\(path)", "problems": "\(problems)"])
        case .reloaded(let users):
            logger.info("users file reloaded", metadata: ["file": "\(path)", "access changed": "\(users.count)"])
            changed = users
        }
        let retried = pending.withLock { $0 }
        guard !changed.isEmpty || !retried.isEmpty else { return }
        let index = UserSessionIndex(store: sessions)
        for user in retried.union(changed).sorted() {
            do {
                let ended = try index.endAll(of: user)
                pending.withLock { _ = $0.remove(user) }
                logger.notice("sessions ended: access changed", metadata: ["user": "\(user)", "sessions": "\(ended)"]
                              .merging(retried.contains(user) ? ["after": "a failed try"] : [:]) { $1 })
                audit.record("revoke", [("user", user), ("reason", "access_changed"), ("sessions", String(ended))], now: now)
            } catch {
                // Not lost: tried again at every look (users_reload_interval) until memcached answers. Said once.
                if pending.withLock({ $0.insert(user).inserted }) {
                    logger.error("could not end sessions after an access change: trying again until memcached answers",
                                 metadata: ["user": "\(user)", "error": "\(error)"])
                }
            }
        }
    }
}
