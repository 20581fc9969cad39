import Glibc

/// Users, groups and addresses named in the config, looked up in this system's databases.
enum SystemAccounts {
    /// The gid of a group name or number.
    static func gid(_ name: String) -> UInt32? {
        if let n = UInt32(name) { return n }
        guard let group = getgrnam(name) else { return nil }
        return group.pointee.gr_gid
    }

    /// The uid of a user name or number.
    static func uid(_ name: String) -> UInt32? {
        if let n = UInt32(name) { return n }
        guard let user = getpwnam(name) else { return nil }
        return user.pointee.pw_uid
    }

    /// The name of user `uid`, or the number when it has none.
    static func userName(_ uid: UInt32) -> String {
        guard let user = getpwuid(uid) else { return String(uid) }
        return String(cString: user.pointee.pw_name)
    }

    /// True for an IPv4 or IPv6 address written as `inet_pton` reads it.
    static func isIPAddress(_ text: String) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 16)
        return inet_pton(AF_INET, text, &buffer) == 1 || inet_pton(AF_INET6, text, &buffer) == 1
    }
}
