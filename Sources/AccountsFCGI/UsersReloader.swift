import FastCGI
import Glibc
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
        let watch = {
            var store: KeyValueStore? = nil
            while true {
                sleep(UInt32(interval))
                do {
                    if store == nil { store = try stores.make() }
                    guard let store else { continue }
                    users.refresh(sessions: SessionStore(kv: store, prefix: prefix), logger: logger, audit: audit,
                                  now: Int64(time(nil)))
                } catch {
                    logger.error("users file watcher: no store connection", metadata: ["error": "\(error)"])
                }
            }
        }
        do {
            try WorkerThread.start(watch)
        } catch {
            logger.error("users file watcher: cannot start its thread: the users file is not reloaded", metadata: ["error": "\(error)"])
        }
    }
}
