import SSOCrypto

/// One person who can sign in.
public struct User: Sendable, Equatable {
    public let username: String
    /// crypt(3) hash; never logged.
    let passwordHash: String
    public let name: String
    public let email: String
    /// Registry names of the services the user is registered for.
    public let services: [String]
    /// A disabled user cannot sign in, and their sessions are ended when the file says so.
    public var disabled: Bool = false

    /// True when this user's access differs from `other`'s: password, services or disabled (what ends their sessions).
    func accessDiffers(from other: User) -> Bool {
        passwordHash != other.passwordHash || Set(services) != Set(other.services) || disabled != other.disabled
    }
}

/// The users file as loaded. User names are matched byte for byte: Swift's `String` equality would let `\u{212A}im`
/// (KELVIN SIGN) sign in as `Kim`, while the sign-in throttle and the session index key on the bytes, so each such
/// spelling would get its own failure count.
public struct UserDirectory: Sendable {
    /// A user name as its UTF-8 bytes.
    struct Name: Hashable, Sendable {
        let bytes: [UInt8]
        init(_ text: String) { bytes = Array(text.utf8) }
    }

    private let users: [Name: User]
    /// A hash of a random password made with the scheme and cost most users' hashes have: unknown user names are checked
    /// against it, so they cost the same time as real ones (a cheap decoy beside costly bcrypt hashes would tell).
    let decoyHash: String

    public init(users: [User]) throws {
        var map: [Name: User] = [:]
        for user in users { map[Name(user.username)] = user }
        self.users = map
        self.decoyHash = try PasswordHash.decoy(likeMostOf: users.map(\.passwordHash))
    }

    /// Everyone, by user name.
    public var all: [User] { users.values.sorted { $0.username < $1.username } }

    /// The user named `username`, if any.
    public func user(_ username: String) -> User? { users[Name(username)] }

    /// The user when `password` is right; nil for a wrong password, an unknown user and a disabled one alike, in
    /// similar time.
    public func authenticate(username: String, password: String) -> User? {
        guard let user = users[Name(username)] else {
            _ = PasswordHash.verify(password: password, hash: decoyHash)
            return nil
        }
        return PasswordHash.verify(password: password, hash: user.passwordHash) && !user.disabled ? user : nil
    }

    /// The user names whose access is not the same in `newer`: removed, disabled, another password or other services.
    /// Their sessions must end.
    public func usersWhoseAccessChanged(in newer: UserDirectory) -> [String] {
        users.values.filter { old in newer.users[Name(old.username)].map { old.accessDiffers(from: $0) } ?? true }.map(\.username).sorted()
    }
}
