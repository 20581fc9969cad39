import Foundation
import Logging
import SSOCore
import SSOStore

/// Looks at the users file every `users_reload_interval` seconds on a thread of its own, with a store connection of its
/// own, and ends the sessions of users whose access changed (see `UsersFile`).
enum UsersReloader {
    static func start(_ users: UsersFile, config: SSOConfig, logger: Logger, audit: AuditLog) {
        guard config.usersReloadInterval > 0 else { return }
        let interval = config.usersReloadInterval
        let stores = StoreFactory(config.memcached)
        let prefix = config.keyPrefix
        let thread = Thread {
            var store: KeyValueStore? = nil
            while true {
                Thread.sleep(forTimeInterval: Double(interval))
                do {
                    if store == nil { store = try stores.make() }
                    guard let store else { continue }
                    users.refresh(sessions: SessionStore(kv: store, prefix: prefix), logger: logger, audit: audit,
                                  now: Int64(Date().timeIntervalSince1970))
                } catch {
                    logger.error("users file watcher: no store connection", metadata: ["error": "\(error)"])
                }
            }
        }
        thread.stackSize = 1 << 20
        thread.start()
    }
}
