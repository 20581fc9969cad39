import Foundation
import Synchronization
import Testing
@testable import SSOCore
@testable import SSOCrypto
import SSOTesting

/// ssoctl's edits: the users file and the config keep their comments and order, a change lands only when the result
/// loads, and keys rotate without dropping the old one.
@Suite struct AdminTests {
    static let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("config")

    /// This test's folder, removed when it ends.
    let scratch: ScratchFolder

    init() throws {
        scratch = try ScratchFolder("admin")
    }

    func copyExamples() throws -> (config: SSOConfig, folder: URL) {
        let folder = scratch.url
        var config = try String(contentsOf: Self.example.appendingPathComponent("sso.example.yaml"), encoding: .utf8)
        config = config.replacingOccurrences(of: "/etc/sso/users.yaml", with: "users.yaml")
            .replacingOccurrences(of: "/etc/sso/keys/", with: "keys/")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("keys"), withIntermediateDirectories: true)
        try config.write(to: folder.appendingPathComponent("sso.yaml"), atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(at: Self.example.appendingPathComponent("users.example.yaml"), to: folder.appendingPathComponent("users.yaml"))
        let key = try KeysAdmin.generate(kid: "ed-2026-11", kind: .ed25519, folder: folder.appendingPathComponent("keys").path)
        #expect(key.privateKeyFile.hasSuffix("keys/ed-2026-11.pem"))
        return (try ConfigLoader.load(path: folder.appendingPathComponent("sso.yaml").path), folder)
    }

    @Test func usersAreEditedInPlaceKeepingCommentsAndOrder() throws {
        let (config, folder) = try copyExamples()
        let path = folder.appendingPathComponent("users.yaml").path
        let before = try String(contentsOfFile: path, encoding: .utf8)
        let admin = UsersAdmin(path: path, registry: config.registry)
        try admin.setPassword(username: "bob", password: "new-secret")
        try admin.setDisabled(username: "alice", true)
        try admin.add(username: "carol", password: "carol-pw", name: "Carol \"C\" O'Neil", email: "carol@example.com", services: ["dextor"])
        let after = try String(contentsOfFile: path, encoding: .utf8)
        // Every comment line survives, in order.
        let comments = { (t: String) in t.split(separator: "\n").filter { $0.trimmingCharacters(in: .whitespaces).hasPrefix("#") } }
        #expect(comments(before) == comments(after))
        let users = try UsersFileLoader.load(path: path, registry: config.registry)
        #expect(users.all.map(\.username) == ["alice", "bob", "carol"])
        #expect(users.authenticate(username: "bob", password: "new-secret")?.username == "bob")
        #expect(users.user("alice")?.disabled == true && users.authenticate(username: "alice", password: "x") == nil)
        #expect(users.authenticate(username: "carol", password: "carol-pw")?.name == "Carol \"C\" O'Neil")
        #expect(after.contains("  - username: \"carol\""))
        // A change that would not load is refused, and the file stays as it was.
        #expect(throws: (any Error).self) { try admin.add(username: "dave", password: "x", name: nil, email: nil, services: ["nope"]) }
        #expect(throws: (any Error).self) { try admin.add(username: "bob", password: "x", name: nil, email: nil, services: []) }
        #expect(throws: (any Error).self) { try admin.setPassword(username: "nobody", password: "x") }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == after)
    }

    /// `users disable` keeps the right password out too, and `users enable` lets it in again.
    @Test func aDisabledUserCannotSignInWithTheRightPassword() throws {
        let (config, folder) = try copyExamples()
        let path = folder.appendingPathComponent("users.yaml").path
        let admin = UsersAdmin(path: path, registry: config.registry)
        let signIn = { try UsersFileLoader.load(path: path, registry: config.registry).authenticate(username: "alice", password: "right-pw") }
        try admin.setPassword(username: "alice", password: "right-pw")
        #expect(try signIn()?.username == "alice")
        try admin.setDisabled(username: "alice", true)
        #expect(try signIn() == nil)
        try admin.setDisabled(username: "alice", false)
        #expect(try signIn()?.username == "alice")
    }

    /// The package installs a users file with `users: []`: the first `users add` turns it into a block list, keeping
    /// the comments around it; the next one appends as usual.
    @Test func theFirstUserIsAddedToAnEmptyList() throws {
        let (config, folder) = try copyExamples()
        let path = folder.appendingPathComponent("users.yaml").path
        let text = "# who can sign in\nusers: []   # none yet\n# - username: shape to follow\n"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try UsersFileLoader.load(path: path, registry: config.registry).all.isEmpty)
        let admin = UsersAdmin(path: path, registry: config.registry)
        try admin.add(username: "carol", password: "carol-pw", name: nil, email: nil, services: ["dextor"])
        try admin.add(username: "dave", password: "dave-pw", name: nil, email: nil, services: [])
        let users = try UsersFileLoader.load(path: path, registry: config.registry)
        #expect(users.all.map(\.username) == ["carol", "dave"])
        #expect(users.authenticate(username: "carol", password: "carol-pw")?.username == "carol")
        let after = try String(contentsOfFile: path, encoding: .utf8)
        #expect(after.hasPrefix("# who can sign in\nusers:   # none yet\n  - username: \"carol\"\n"))
        #expect(after.contains("# - username: shape to follow"))
    }

    /// A file saved with CRLF line ends (or holding another YAML line break) loads in the programs, but its line numbers
    /// are not ssoctl's: an edit once indexed past the end of its lines and crashed. It is refused, named, untouched.
    @Test func aFileWithOtherLineBreaksIsRefusedNotMisedited() throws {
        let (config, folder) = try copyExamples()
        let path = folder.appendingPathComponent("users.yaml").path
        let lf = try String(contentsOfFile: path, encoding: .utf8)
        for text in [lf.replacingOccurrences(of: "\n", with: "\r\n"),
                     lf.replacingOccurrences(of: "name: Bob Builder", with: "name: \"Bob\u{2028}Builder\"")] {
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            #expect(try UsersFileLoader.load(path: path, registry: config.registry).all.count == 2)
            let admin = UsersAdmin(path: path, registry: config.registry)
            do {
                try admin.add(username: "carol", password: "carol-pw", name: nil, email: nil, services: ["dextor"])
                Issue.record("edited a file whose line breaks it does not count")
            } catch let error as AdminError {
                #expect("\(error)".contains("line"))
            }
            #expect(throws: AdminError.self) { try admin.setPassword(username: "bob", password: "x") }
            #expect(try String(contentsOfFile: path, encoding: .utf8) == text)
        }
    }

    /// A name or email with a character YAML reads as a line break (from a provisioning feed) is written escaped: the
    /// file stays one ssoctl can edit, and the name reads back as given (an emergency `disable` once failed on it).
    @Test func aNameWithALineBreakCharacterIsWrittenEscaped() throws {
        let (config, folder) = try copyExamples()
        let path = folder.appendingPathComponent("users.yaml").path
        let admin = UsersAdmin(path: path, registry: config.registry)
        let odd = "Dave\u{2028}Next\u{85}Line\u{2029}End\u{7F}"
        try admin.add(username: "dave", password: "dave-pw", name: odd, email: "dave\u{2028}@example.com", services: ["dextor"])
        try admin.setPassword(username: "dave", password: "other-pw")
        let dave = try #require(try UsersFileLoader.load(path: path, registry: config.registry).all.first { $0.username == "dave" })
        #expect(dave.name == odd)
        #expect(!(try String(contentsOfFile: path, encoding: .utf8)).unicodeScalars.contains { [0x85, 0x2028, 0x2029].contains($0.value) })
    }

    /// The package's key folder is root:sso 0750: a key made there (first install, `keys rotate`) must be readable by
    /// the programs' group, and by no one else; elsewhere a private key stays 0600. Only root can give a folder
    /// another group.
    @Test(.enabled(if: geteuid() == 0)) func aPrivateKeyTakesTheGroupOfItsFolder() throws {
        let folder = try scratch.subfolder()
        let plain = try KeysAdmin.generate(kid: "plain", kind: .ed25519, folder: folder.path)
        var info = stat()
        #expect(stat(plain.privateKeyFile, &info) == 0 && info.st_mode & 0o777 == 0o600 && info.st_gid == getegid())
        let group: gid_t = 65534  // nogroup: any group that is not root's
        #expect(chown(folder.path, uid_t.max, group) == 0)
        let shared = try KeysAdmin.generate(kid: "shared", kind: .ed25519, folder: folder.path)
        #expect(stat(shared.privateKeyFile, &info) == 0 && info.st_mode & 0o777 == 0o640 && info.st_gid == group)
        #expect(stat(shared.publicKeyFile, &info) == 0 && info.st_mode & 0o777 == 0o644)
    }

    @Test func keysRotateAndArePrunedOnlyWhenEveryTokenExpired() throws {
        let (config, folder) = try copyExamples()
        let path = folder.appendingPathComponent("sso.yaml").path
        let next = try KeysAdmin.generate(kid: "ed-next", kind: .ed25519, folder: folder.appendingPathComponent("keys").path)
        try KeysAdmin(path: path, config: config).rotate(to: next, now: 1_000_000)
        let rotated = try ConfigLoader.load(path: path)
        #expect(rotated.signingKID == "ed-next")
        #expect(rotated.keys.map(\.kid) == ["ed-2026-11", "ed-next"])
        #expect(rotated.keys.first?.retiredAt == 1_000_000)
        let keys = try KeyLoader.load(rotated, side: .accounts)
        #expect(keys.signingKID == "ed-next" && keys.keys.count == 2)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.contains("# The accounts server's public origin"))  // comments kept
        let admin = KeysAdmin(path: path, config: rotated)
        #expect(admin.prunable(now: 1_000_000 + rotated.sessionLifetime).isEmpty)  // tokens may still be valid
        #expect(try admin.prune(now: 1_000_000 + rotated.sessionLifetime + 31).map(\.kid) == ["ed-2026-11"])
        let pruned = try ConfigLoader.load(path: path)
        #expect(pruned.keys.map(\.kid) == ["ed-next"] && pruned.signingKID == "ed-next")
    }

    /// A rotation to the pair `keys generate` made (the app hosts got its public half first) uses those very files, and
    /// only a whole, matching pair.
    @Test func aRotationUsesTheGeneratedPairOnlyWhenItIsOne() throws {
        let folder = try scratch.subfolder().path
        #expect(try KeysAdmin.existing(kid: "ed-next", folder: folder) == nil)
        let made = try KeysAdmin.generate(kid: "ed-next", kind: .ed25519, folder: folder)
        let before = try String(contentsOfFile: made.privateKeyFile, encoding: .utf8)
        #expect(try KeysAdmin.existing(kid: "ed-next", folder: folder) == made)
        #expect(try String(contentsOfFile: made.privateKeyFile, encoding: .utf8) == before)
        // Another key's public half beside it: not a pair.
        let other = try KeysAdmin.generate(kid: "ed-other", kind: .p256, folder: folder)
        try FileManager.default.removeItem(atPath: made.publicKeyFile)
        try FileManager.default.copyItem(atPath: other.publicKeyFile, toPath: made.publicKeyFile)
        #expect(throws: AdminError.self) { try KeysAdmin.existing(kid: "ed-next", folder: folder) }
        // Half a pair.
        try FileManager.default.removeItem(atPath: made.publicKeyFile)
        #expect(throws: AdminError.self) { try KeysAdmin.existing(kid: "ed-next", folder: folder) }
    }

    /// The edited file replaces the original by rename: it must come out with the original's mode (not the mode less
    /// this process's umask: a users file 0660 that became 0640 would lock out a group that writes it) ...
    @Test func anEditKeepsTheFilesMode() throws {
        let (config, folder) = try copyExamples()
        let path = folder.appendingPathComponent("users.yaml").path
        #expect(chmod(path, 0o666) == 0)  // every bit a umask can take away
        try UsersAdmin(path: path, registry: config.registry).setPassword(username: "bob", password: "new-secret")
        var info = stat()
        #expect(stat(path, &info) == 0 && info.st_mode & 0o7777 == 0o666, "\(String(info.st_mode & 0o7777, radix: 8))")
    }

    /// ... and its owner and group: root's ssoctl editing the service's users file (root:sso 0640 in the package, or
    /// sso's own) must not leave a root:root file the programs cannot read, whose reload fails and so ends no session
    /// of the user just disabled.
    @Test(.enabled(if: geteuid() == 0)) func anEditKeepsTheFilesOwnerAndGroup() throws {
        let (config, folder) = try copyExamples()
        let path = folder.appendingPathComponent("users.yaml").path
        #expect(chown(path, 65534, 65534) == 0 && chmod(path, 0o640) == 0)
        try UsersAdmin(path: path, registry: config.registry).setDisabled(username: "bob", true)
        var info = stat()
        #expect(stat(path, &info) == 0 && info.st_uid == 65534 && info.st_gid == 65534, "\(info.st_uid):\(info.st_gid)")
        #expect(info.st_mode & 0o7777 == 0o640)
        #expect(try UsersFileLoader.load(path: path, registry: config.registry).user("bob")?.disabled == true)
    }

    /// An edit whose result does not load is refused and the file stays as it was: here a rotation to a key pair whose
    /// private half is gone (the config would name a key the accounts host cannot load, and it would not start).
    @Test func anEditThatWouldNotLoadLeavesTheFileAsItWas() throws {
        let (config, folder) = try copyExamples()
        let path = folder.appendingPathComponent("sso.yaml").path
        let before = try String(contentsOfFile: path, encoding: .utf8)
        let next = try KeysAdmin.generate(kid: "ed-next", kind: .ed25519, folder: folder.appendingPathComponent("keys").path)
        try FileManager.default.removeItem(atPath: next.privateKeyFile)
        #expect(throws: (any Error).self) { try KeysAdmin(path: path, config: config).rotate(to: next, now: 1_000_000) }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == before)
        #expect(try ConfigLoader.load(path: path).signingKID == config.signingKID)
        // No temporary file is left beside it.
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".tmp") }.isEmpty)
    }

    @Test func trailingCommentsAreFoundOutsideQuotes() {
        #expect(YAMLLineEditor.trailingComment("  a: 'x # y'   # z") == "   # z")
        #expect(YAMLLineEditor.trailingComment("  a: \"#\"") == "")
        #expect(YAMLLineEditor.trailingComment("  color: \"#2f5bea\"  # hex") == "  # hex")
    }

    @Test func sessionsAreFoundThroughTheUsersIndexAndRevoked() throws {
        let kv = InMemoryStore(now: { 1000 })
        let store = SessionStore(kv: kv, prefix: "t:")
        let index = UserSessionIndex(store: store)
        for (i, user) in ["alice", "alice", "bob"].enumerated() {
            let id = "token\(i)-abcdef"
            try store.put(JWTSession(user: user, lastAccessedTime: 1000, sessionTimeout: 900, fingerprint: "f", created: 1000 + Int64(i),
                                     expiresAt: 5000), tokenID: id, now: 1000)
            try index.record(id, user: user, ttl: 5000)
        }
        let admin = SessionAdmin(store: store)
        #expect(try admin.sessions(of: ["alice", "bob"], now: 1000).map(\.user) == ["alice", "alice", "bob"])
        #expect(throws: AdminError.self) { try admin.revoke(idPrefix: "token", among: ["alice", "bob"], now: 1000) }  // too short
        #expect(try admin.revoke(idPrefix: "token2-", among: ["alice", "bob"], now: 1000).user == "bob")
        #expect(try admin.revoke(user: "alice") == 2)
        #expect(try admin.sessions(of: ["alice", "bob"], now: 1000).isEmpty)
    }

    /// A clock the test moves: each sign-in comes 11 s after the last, past the pause between two compactions.
    final class Clock: Sendable {
        let now = Mutex<Int64>(1000)
        func tick(_ seconds: Int64) { now.withLock { $0 += seconds } }
        var read: Int64 { now.withLock { $0 } }
    }

    /// Signs `user` in `count` times (sessions that never expire within the test); `ends(i)`: whether the i-th is
    /// signed out at once. Returns the TokenIDs still live.
    func signIns(_ count: Int, _ index: UserSessionIndex, _ store: SessionStore, _ clock: Clock, ends: (Int) -> Bool) throws -> [String] {
        var live: [String] = []
        for i in 0..<count {
            clock.tick(11)
            let id = "signin\(i)-abcdefghijklmnopqrstuvwxyz0123456789"
            try store.put(JWTSession(user: "alice", lastAccessedTime: clock.read, sessionTimeout: 900_000, fingerprint: "f",
                                     created: clock.read, expiresAt: 10_000_000), tokenID: id, now: clock.read)
            try index.record(id, user: "alice", ttl: 10_000_000)
            if ends(i) { try store.deleteSession(id) } else { live.append(id) }
        }
        return live
    }

    /// A user's list holds only what can still be ended: 2,000 sign-ins, each signed out, leave it under the compaction
    /// size, and every live session is in it. (Never pruned, it filled memcached's item after ~23,800 sign-ins and the
    /// later sessions were silently not listed, so no revocation ended them.)
    @Test func theUsersListStaysBoundedAndListsEveryLiveSession() throws {
        let clock = Clock()
        let kv = InMemoryStore(now: { clock.read })
        let store = SessionStore(kv: kv, prefix: "t:")
        let index = UserSessionIndex(store: store)
        let live = try signIns(2_000, index, store, clock) { $0 % 100 != 0 }
        let listed = try index.tokenIDs(of: "alice")
        #expect(Set(live).isSubset(of: Set(listed)))
        #expect((try kv.get(index.key("alice"))?.count ?? 0) < UserSessionIndex.compactionBytes + 64)
        #expect(try SessionAdmin(store: store).revoke(user: "alice") == live.count)
    }

    /// When the sessions live on, a compaction frees nothing; it must then not run at every sign-in (each reads every
    /// listed session: one account with thousands of live sessions made each of its sign-ins read them all, seconds
    /// of memcached work for every sign-in). The list doubles between compactions, so the reads stay a few per sign-in.
    @Test func liveSessionsDoNotMakeEverySignInReadTheWholeList() throws {
        let clock = Clock()
        let kv = CountingStore(InMemoryStore(now: { clock.read }))
        let store = SessionStore(kv: kv, prefix: "t:")
        let index = UserSessionIndex(store: store)
        let live = try signIns(3_000, index, store, clock) { _ in false }
        #expect(Set(try index.tokenIDs(of: "alice")) == Set(live))
        #expect(kv.counts.gets < 3 * 3_000, "\(kv.counts)")  // about one read per sign-in, plus the compactions' reads
    }
}
