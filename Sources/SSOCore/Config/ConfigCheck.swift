import FastCGI
import FoundationEssentials
import Glibc
import SSOCrypto
import SSOStore

/// `--check-config`: every problem with the config file and the files it names (keys, users file, audit log) in one
/// run, each with its key path, value and expectation; and warnings about this machine that do not stop a start but
/// will stop the service from working (the socket's folder, memcached not answering).
public struct ConfigReport: Sendable {
    /// Problems by file (the config file first): any problem means the program would not start.
    public var errors: [ConfigError] = []
    /// Said without failing: the program starts, but is not ready to serve.
    public var warnings: [String] = []
    /// The config as far as it could be built (meaningful only when `errors` is empty).
    public var config: SSOConfig

    /// The problems, one block per file, as printed on stderr.
    public var problemText: String { errors.map(\.description).joined(separator: "\n") }
}

/// Runs the checks behind `--check-config` (and the start of both programs, which stop on any problem).
public enum ConfigCheck {
    /// Which program is checked: what it reads decides what is checked.
    public enum Program: Sendable {
        case accounts, appAuth
    }

    /// Checks `path` for `program`: the file, then, as far as the file allows, the key files, the users file (accounts)
    /// and the audit log. `machine` adds the warnings about the socket folder and memcached.
    public static func run(path: String, program: Program, machine: Bool) -> ConfigReport {
        let (config, fileProblems) = ConfigLoader.inspect(path: path)
        var problems = fileProblems
        var report = ConfigReport(config: config)
        // A file that could not be read or parsed says nothing about keys and users: everything else would be noise.
        let unreadable = fileProblems.contains(where: ConfigLoader.isUnreadable)
        var usersError: ConfigError?
        if !unreadable {
            do {
                _ = try KeyLoader.load(config, side: program == .accounts ? .accounts : .appHost)
            } catch let error as ConfigError {
                problems += error.problems.filter { p in !problems.contains { $0.key == p.key } }
            } catch {
                problems.append(.init(key: "keys", value: "", expected: "loadable keys (\(error))"))
            }
            if program == .accounts {
                if let problem = fileProblem(key: "users_file", path: config.usersFile, write: false) {
                    problems.append(problem)
                } else {
                    do {
                        let users = try UsersFileLoader.load(path: config.usersFile, registry: config.registry)
                        if let warning = cheapHashWarning(users.all, file: config.usersFile) { report.warnings.append(warning) }
                    }
                    catch let error as ConfigError { usersError = error }
                    catch { usersError = ConfigError(file: config.usersFile, problems: [.init(key: "users", value: "", expected: "\(error)")]) }
                }
            }
            if !config.auditLogFile.isEmpty, let problem = fileProblem(key: "audit.log_file", path: config.auditLogFile, write: true) {
                problems.append(problem)
            } else if let why = AuditLog.refusal(atPath: config.auditLogFile) {
                problems.append(.init(key: "audit.log_file", value: "\"\(config.auditLogFile)\"", expected: why))
            }
        }
        if !problems.isEmpty { report.errors.append(ConfigError(file: path, problems: problems)) }
        if let usersError { report.errors.append(usersError) }
        // The machine is looked at only for a config without problems: a wrong value would make the warnings noise.
        if machine && report.errors.isEmpty {
            let (key, server) = program == .accounts ? ("accounts.listen", config.accounts) : ("app_auth.listen", config.appAuth)
            if let warning = socketFolderWarning(key: key, listen: server.listen) { report.warnings.append(warning) }
            if let warning = listenNameWarning(key: key, listen: server.listen) { report.warnings.append(warning) }
            if case .unix = server.listen, !server.peers.admitsAll {
                let section = key.replacing(".listen", with: "")
                report.warnings.append("\(section).allowed_users and allowed_addresses apply to TCP only: on the unix socket \(server.listen) socket_group and socket_mode decide who connects")
            }
            let groupKey = key.replacing(".listen", with: ".socket_group")
            if let warning = socketGroupWarning(key: groupKey, listen: server.listen, group: server.socketGroup) {
                report.warnings.append(warning)
            }
            report.warnings += memcachedWarnings(config.memcached)
            if let warning = sameMemcachedWarning(config.memcached) { report.warnings.append(warning) }
        }
        return report
    }

    /// A warning naming the users whose password hash is cheap to crack (`PasswordHash.cheapness`): they sign in, but a
    /// stolen users file gives their passwords away quickly. At most three are named, then how many more.
    public static func cheapHashWarning(_ users: [User], file: String) -> String? {
        let cheap = users.compactMap { user in PasswordHash.cheapness(user.passwordHash).map { "\(user.username): \($0)" } }
        guard !cheap.isEmpty else { return nil }
        let more = cheap.count > 3 ? " and \(cheap.count - 3) more" : ""
        return "\(file): \(cheap.count) user(s) have a password hash that is cheap to crack (\(cheap.prefix(3).joined(separator: "; "))\(more)): make new ones with `AccountsFCGI hash-password` (yescrypt) or `htpasswd -nB -C 12`"
    }

    /// A problem when `path` cannot be read (or, with `write`, appended to or created): named by the config key.
    static func fileProblem(key: String, path: String, write: Bool) -> ConfigError.Problem? {
        let quoted = "\"\(path)\""
        if FileManager.default.fileExists(atPath: path) {
            guard access(path, write ? W_OK : R_OK) == 0 else {
                return .init(key: key, value: quoted, expected: "a file this user can \(write ? "write" : "read") (\(String(cString: strerror(errno))))")
            }
            return nil
        }
        guard write else { return .init(key: key, value: quoted, expected: "a readable file (it does not exist)") }
        let folder = FilePaths.folder(of: path)
        guard access(folder.isEmpty ? "." : folder, W_OK | X_OK) == 0 else {
            return .init(key: key, value: quoted, expected: "a file in a folder this user can write (\(folder): \(String(cString: strerror(errno))))")
        }
        return nil
    }

    /// A warning when a TCP `listen` names a host that does not resolve to an IPv4 address here: libfcgi would stop the
    /// program at start ("Cannot resolve host name").
    public static func listenNameWarning(key: String, listen: ListenAddress) -> String? {
        guard case .tcp(let host, _) = listen else { return nil }
        var literal = in_addr()
        guard inet_pton(AF_INET, host, &literal) != 1, resolvedAddresses(host, family: AF_INET).isEmpty else { return nil }
        return "\(key): \(host) does not resolve to an IPv4 address here: the program cannot listen on it (libfcgi stops at start)"
    }

    /// A warning when the folder of a unix socket does not exist or this user cannot create the socket in it.
    public static func socketFolderWarning(key: String, listen: ListenAddress) -> String? {
        guard case .unix(let path) = listen else { return nil }
        let folder = FilePaths.folder(of: path)
        guard FileFacts(path: folder)?.isFolder == true else {
            return "\(key): the folder \(folder) does not exist: the program cannot create \(path) (see docs/deploy.md: a tmpfiles.d line makes it at boot; the package's .socket units make it too)"
        }
        guard access(folder, W_OK | X_OK) == 0 else {
            return "\(key): user \(SystemAccounts.userName(getuid())) cannot create \(path): \(folder): \(String(cString: strerror(errno))) (run the program as the user that owns \(folder))"
        }
        return nil
    }

    /// A warning when this user may not give a unix socket `group` (a process can give a file only a group it is in):
    /// the program would stop at start. Not when systemd makes the socket (`fd:0`), nor for root.
    public static func socketGroupWarning(key: String, listen: ListenAddress, group: UInt32?) -> String? {
        guard case .unix = listen, let group, getuid() != 0, group != getgid() else { return nil }
        let count = getgroups(0, nil)
        var groups = [gid_t](repeating: 0, count: Int(max(count, 0)))
        if count > 0, getgroups(count, &groups) == count, groups.contains(group) { return nil }
        let name = getgrgid(group).map { String(cString: $0.pointee.gr_name) } ?? String(group)
        return "\(key): user \(SystemAccounts.userName(getuid())) is not in group \(name), so it cannot give its socket that group (adduser \(SystemAccounts.userName(getuid())) \(name); see docs/deploy.md)"
    }

    /// A warning when two `memcached.servers` entries with replicas are one server under two names (`localhost:11211`
    /// and `127.0.0.1:11211`): the load refuses the same text twice, not the same address. Names are resolved here, in
    /// the operator's machine check, never when a config is loaded.
    public static func sameMemcachedWarning(_ options: MemcachedOptions) -> String? {
        guard options.replicas > 0 else { return nil }
        var seen: [String: String] = [:]
        for server in options.servers {
            guard let colon = server.lastIndex(of: ":"), !server.hasPrefix("/") else { continue }
            let host = String(server[..<colon]), port = String(server[server.index(after: colon)...])
            for address in resolvedAddresses(host) {
                let key = address + ":" + port
                if let first = seen[key], first != server {
                    return "memcached.servers: \"\(first)\" and \"\(server)\" are one server (\(key)): their copies are one copy"
                }
                seen[key] = server
            }
        }
        return nil
    }

    /// The numeric addresses `host` resolves to (of `family`; default: IPv4 and IPv6), or none.
    static func resolvedAddresses(_ host: String, family: Int32 = AF_UNSPEC) -> [String] {
        var hints = addrinfo()
        hints.ai_family = family
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var found: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &found) == 0 else { return [] }
        defer { freeaddrinfo(found) }
        var out: [String] = []
        var next = found
        while let entry = next {
            defer { next = entry.pointee.ai_next }
            var text = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if let address = entry.pointee.ai_addr,
               getnameinfo(address, entry.pointee.ai_addrlen, &text, socklen_t(text.count), nil, 0, NI_NUMERICHOST) == 0 {
                let numeric = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if !out.contains(numeric) { out.append(numeric) }
            }
        }
        return out
    }

    /// One warning per memcached server that does not answer.
    public static func memcachedWarnings(_ options: MemcachedOptions) -> [String] {
        StoreProbe.silentServers(options).map {
            "memcached.servers[\($0.index)]: \"\($0.server)\" does not answer (\($0.reason)): every request is refused until it does"
        }
    }
}
