import FoundationEssentials
import Glibc
import SSOCrypto
import SSOStore

/// Kept requests in a `KeyValueStore`: a manifest under `<prefix>q:<id>` and the body in parts under `<prefix>q:<id>:<n>`,
/// so a body larger than memcached's item limit (1 MiB by default) still fits. Taking an entry deletes its manifest
/// first (`take`): only one caller gets it, so a request is delivered at most once. A receipt under `<prefix>q:<id>:r`
/// outlives it, so a browser still naming it can be told what became of it (`fate`).
public struct RequestCacheStore {
    /// Bytes per body part. Default: 262,144 (well under memcached's default 1 MiB item limit).
    public static let partSize = 262_144

    public let kv: KeyValueStore
    public let prefix: String

    public init(kv: KeyValueStore, prefix: String) {
        self.kv = kv
        self.prefix = prefix
    }

    func manifestKey(_ id: String) -> String { prefix + "q:" + id }
    func receiptKey(_ id: String) -> String { prefix + "q:" + id + ":r" }

    /// How much longer than the entry its receipt lives, in seconds: 3,660, longer than the replay cookie outlives it.
    public static let receiptExtra = 3_660

    /// What became of a kept submission whose manifest is gone, by its receipt: `<until>` while it waits (the time it
    /// runs out), `taking <deadline> <until>` while a replay has it, `done` once delivered or explained.
    public enum Fate: Equatable {
        /// Its time ran out.
        case ranOut
        /// No receipt that says (memcached lost it, or restarted): run out, or lost.
        case unknown
        /// Gone before its time with no replay having taken it: memcached lost it (evicted, or its server restarted).
        case lost
        /// A replay has it, and may yet put it back (the app could not be reached).
        case inFlight
        /// A replay took it and never finished (its program died while the app had it): it may or may not have arrived.
        case interrupted
        /// Delivered, or explained to the user: nothing is left to say.
        case finished
    }

    /// The fate of the submission `id` at `now` (seconds since 1970), once its manifest is gone.
    public func fate(_ id: String, now: Int64) throws(StoreError) -> Fate {
        guard SessionStore.isSafeKeyPart(id), let bytes = try kv.get(receiptKey(id)) else { return .unknown }
        return Self.fate(of: bytes, now: now)
    }

    /// What the receipt `bytes` say at `now`.
    static func fate(of bytes: [UInt8], now: Int64) -> Fate {
        switch Receipt(bytes) {
        case .waiting(let until): return now < until ? .lost : .ranOut
        case .taking(let deadline, _): return now < deadline ? .inFlight : .interrupted
        case .done: return .finished
        case nil: return .unknown
        }
    }

    /// Records `done` for a submission about to be told as `told` (`.lost` or `.interrupted`: no replay will deliver
    /// it), only while that is still true: the receipt still says so and the manifest is gone (or unreadable: `peek`,
    /// the route's own test, so the two never disagree and no page redirects to itself). The receipt is read here
    /// and replaced by compare-and-swap after the manifest is looked for; a replay that claims the submission, or puts
    /// it back (the manifest first, then the receipt), changes the receipt, so this is false and writes nothing, and
    /// the caller tells nothing and looks again. `seconds`: how long `done` is remembered.
    public func settle(_ id: String, as told: Fate, now: Int64, remember seconds: Int) throws(StoreError) -> Bool {
        guard told == .lost || told == .interrupted, SessionStore.isSafeKeyPart(id), let read = try kv.read(receiptKey(id)),
              Self.fate(of: read.value, now: now) == told, try peek(id) == nil  // gone as the route reads it: unreadable too
        else { return false }
        return try kv.replace(receiptKey(id), Receipt.done.bytes, ttl: seconds, ifUnchanged: read.version)
    }

    /// Records that the submission `id` was delivered or explained, for `seconds` (as long as a cookie can name it).
    public func finish(_ id: String, remember seconds: Int) throws(StoreError) {
        guard SessionStore.isSafeKeyPart(id) else { return }
        try kv.set(receiptKey(id), Receipt.done.bytes, ttl: seconds)
    }

    /// How long a receipt of an entry kept until `until` must still live at `now`, in seconds.
    static func receiptTTL(until: Int64, now: Int64) -> Int {
        Int(min(max(0, until.clamped - now.clamped), Int64(Int64.longestKeep))) + receiptExtra
    }

    /// A receipt's states, as stored: `<until>`, `taking <deadline> <until>`, `done`.
    enum Receipt: Equatable {
        case waiting(until: Int64)
        case taking(deadline: Int64, until: Int64)
        case done

        static let doneBytes = Array("done".utf8)

        /// Nil for anything else (never trusted: it comes from memcached).
        init?(_ bytes: [UInt8]) {
            if bytes == Self.doneBytes { self = .done; return }
            // Times from memcached: only those a clock can show (`Int64.clamped`'s range), so no arithmetic on them traps.
            let parts = bytes.split(separator: 0x20).map { Int64(String(decoding: $0, as: UTF8.self)).flatMap { $0 == $0.clamped ? $0 : nil } }
            if parts.count == 1, let until = parts[0] { self = .waiting(until: until); return }
            if parts.count == 3, bytes.starts(with: Array("taking ".utf8)), let deadline = parts[1], let until = parts[2] {
                self = .taking(deadline: deadline, until: until)
                return
            }
            return nil
        }

        var bytes: [UInt8] {
            switch self {
            case .waiting(let until): Array(String(until).utf8)
            case .taking(let deadline, let until): Array("taking \(deadline) \(until)".utf8)
            case .done: Self.doneBytes
            }
        }
    }

    func partKey(_ id: String, _ n: Int) -> String { prefix + "q:" + id + ":" + String(n) }

    /// Stores `entry` and `body` for `ttl` seconds, and its receipt (it runs out at `entry.created + ttl`) for
    /// `receiptExtra` more.
    public func put(_ entry: CachedRequest, body: [UInt8], id: String, ttl: Int) throws(StoreError) {
        try store(entry, body: body, id: id, ttl: ttl)
        try kv.set(receiptKey(id), Receipt.waiting(until: entry.until(ttl: ttl)).bytes, ttl: ttl + Self.receiptExtra)
    }

    /// What `putBack` did, for the tab whose replay could not reach the app.
    public enum PutBack: Equatable {
        /// Kept again (by this replay, or by another that had it since): a reload delivers it.
        case kept
        /// Another replay has it now (its claim is live, and it took the form or will), or the receipt kept changing
        /// under this one: this tab says another has it, and its reload looks again.
        case elsewhere
        /// Another tab settled it meanwhile (the receipt says `done`: delivered, or told as cut short): this tab
        /// forgets it and opens the page. A manifest this call stored is taken back.
        case finished
        /// Nothing keeps it any more (its receipt was lost or unreadable): `done` is recorded (by compare-and-swap, so
        /// no later claim or put-back is undone) and a manifest this call stored is taken back. This tab says it was
        /// not delivered.
        case dropped
    }

    /// How many times `putBack` reads the receipt again while it changes under it: 4.
    static let putBackLooks = 4

    /// Stores a taken entry again for the `ttl` seconds it had left (it could not be delivered), waiting until `until`,
    /// by compare-and-swap over the receipt as read: while it is this replay's claim (the one `take` made with
    /// `deadline`), or says the submission waits with no form (memcached lost it; this replay still has it). Otherwise
    /// the receipt as it is now decides (`PutBack`); every write is a compare-and-swap (or `add`) over what was just
    /// read, so no tab is told "not delivered" while another replay delivers or keeps it.
    public func putBack(_ entry: CachedRequest, body: [UInt8], id: String, ttl: Int, until: Int64, claimedUntil deadline: Int64)
        throws(StoreError) -> PutBack {
        let key = receiptKey(id)
        var stored = false
        // Past `done` (recorded here or by another tab), the form this call stored is taken back: no replay claims it.
        let end = { (answer: PutBack) throws(StoreError) -> PutBack in
            if stored { _ = try kv.take(manifestKey(id)) }
            return answer
        }
        for _ in 0..<Self.putBackLooks {
            guard let read = try kv.read(key) else {
                // No receipt: `add`, as a replay's claim would be added; if one was, read again.
                if try kv.add(key, Receipt.done.bytes, ttl: ttl + Self.receiptExtra) { return try end(.dropped) }
                continue
            }
            switch Receipt(read.value) {
            case .taking(let claimed, _)? where claimed == deadline: break  // this replay's claim (or written back as it was)
            case .waiting?:
                if try peek(id) != nil { return .kept }  // another replay put it back, or this write landed
                // It waits with no form (memcached lost it): claimed again first, then put back as this replay's own,
                // so no form is stored where another replay's claim could leave it behind.
                _ = try kv.replace(key, Receipt.taking(deadline: deadline, until: until).bytes,
                                   ttl: ttl + Self.receiptExtra, ifUnchanged: read.version)
                continue
            case .taking?: return .elsewhere  // another replay's claim
            case .done?: return try end(.finished)
            case nil:
                guard try kv.replace(key, Receipt.done.bytes, ttl: ttl + Self.receiptExtra, ifUnchanged: read.version) else { continue }
                return try end(.dropped)
            }
            try store(entry, body: body, id: id, ttl: ttl)
            stored = true
            if try kv.replace(key, Receipt.waiting(until: until).bytes, ttl: ttl + Self.receiptExtra, ifUnchanged: read.version) {
                return .kept
            }
        }
        return .elsewhere
    }

    /// Parts first, then the manifest that names them.
    private func store(_ entry: CachedRequest, body: [UInt8], id: String, ttl: Int) throws(StoreError) {
        guard SessionStore.isSafeKeyPart(id) else { throw StoreError("request cache: unsafe id") }
        var stored = entry
        stored.parts = Self.partCount(body.count)
        for n in 0..<stored.parts {
            let start = n * Self.partSize
            try kv.set(partKey(id, n), Array(body[start..<min(body.count, start + Self.partSize)]), ttl: ttl + 30)
        }
        guard let manifest = try? JSONEncoder().encode(stored) else { throw StoreError("request cache: cannot encode entry") }
        try kv.set(manifestKey(id), Array(manifest), ttl: ttl)
    }

    /// The manifest without taking it (nil when absent, expired or unreadable).
    public func peek(_ id: String) throws(StoreError) -> CachedRequest? {
        guard SessionStore.isSafeKeyPart(id), let bytes = try kv.get(manifestKey(id)) else { return nil }
        return try? JSONDecoder().decode(CachedRequest.self, from: Data(bytes))
    }

    /// What `take` found.
    public enum Taken: Equatable {
        /// This caller has the entry, and no other ever will.
        case entry(CachedRequest, body: [UInt8])
        /// No entry to take: another caller took it first, or it is gone (its receipt says which).
        case gone
        /// Another replay has it claimed (until its deadline): this one takes nothing.
        case busy
        /// Taken, but it cannot be read back: its parts are missing or do not match the digest (never a partial body).
        case broken
        /// Delivered or explained already (its receipt says `done`): nothing is taken, and nothing is written.
        case finished

        /// The entry and its body when this caller has them; nil otherwise.
        public var value: (entry: CachedRequest, body: [UInt8])? {
            if case .entry(let entry, let body) = self { return (entry, body) }
            return nil
        }
    }

    /// Takes the entry once, for a replay that will have finished by `deadline` (seconds since 1970). The receipt says so
    /// first, claimed by compare-and-swap (or `add` when there is none), so a reader that finds the entry gone meanwhile
    /// knows a replay has it (`fate`), and a second replay backs off (`.busy`) without taking. If the entry turns out to
    /// be gone already, or the store fails, the receipt goes back to the bytes it held, if it still holds this claim: a
    /// take that finds nothing changes no tab's answer. A receipt that says `done` is final: `.finished`, nothing
    /// claimed, taken or written (a manifest beside it stays until its TTL and is never delivered).
    public func take(_ id: String, now: Int64, deadline: Int64) throws(StoreError) -> Taken {
        guard SessionStore.isSafeKeyPart(id) else { return .gone }
        let key = receiptKey(id)
        var until: Int64? = nil
        // The receipt as found, put back if nothing is taken (nil: there was none).
        var found: [UInt8]? = nil
        let claim: [UInt8]
        if let read = try kv.read(key) {
            switch Receipt(read.value) {
            case .taking(let other, _) where now < other: return .busy
            case .done: return .finished  // another tab delivered or explained it a moment ago
            case .taking(_, let waited), .waiting(let waited): until = waited
            case nil: break
            }
            found = read.value
            claim = Receipt.taking(deadline: deadline, until: until ?? deadline).bytes
            guard try kv.replace(key, claim, ttl: Self.receiptTTL(until: max(until ?? 0, deadline), now: now), ifUnchanged: read.version)
            else { return .busy }
        } else {
            claim = Receipt.taking(deadline: deadline, until: deadline).bytes
            guard try kv.add(key, claim, ttl: Self.receiptTTL(until: deadline, now: now)) else { return .busy }
        }
        // Not taken after all: the receipt says again what it said (or, there was none, nothing), unless another replay
        // has claimed it since.
        let waitAgain = { () throws(StoreError) in
            guard let current = try kv.read(key), current.value == claim else { return }
            if let found {
                _ = try kv.replace(key, found, ttl: Self.receiptTTL(until: until ?? 0, now: now), ifUnchanged: current.version)
            } else {
                _ = try kv.delete(key)
            }
        }
        let taken: [UInt8]?
        do { taken = try kv.take(manifestKey(id)) } catch {
            try? waitAgain()
            throw error
        }
        guard let bytes = taken else {
            try waitAgain()
            return .gone
        }
        guard let entry = try? JSONDecoder().decode(CachedRequest.self, from: Data(bytes)) else { return .broken }
        // The manifest comes from memcached: a part count that does not follow from the length (negative, huge,
        // damaged) is no entry, and the length reserves no memory before the parts are there.
        guard entry.bodyLength >= 0, entry.parts == Self.partCount(entry.bodyLength) else { return .broken }
        var body: [UInt8] = []
        body.reserveCapacity(min(entry.bodyLength, 4 * Self.partSize))
        do {
            for n in 0..<entry.parts {
                // A missing part ends the entry; the parts after it expire with their TTL.
                guard let part = try kv.get(partKey(id, n)) else { return .broken }
                body += part
                try kv.delete(partKey(id, n))
            }
        } catch {
            // Taken, and now unreadable: waiting again with no manifest, the user is told it was lost.
            try? waitAgain()
            throw error
        }
        guard body.count == entry.bodyLength, Digest.sha256Hex(body) == entry.bodySHA256 else { return .broken }
        return .entry(entry, body: body)
    }

    /// Parts a body of `length` bytes is stored in (no overflow for any length).
    static func partCount(_ length: Int) -> Int { length / partSize + (length % partSize == 0 ? 0 : 1) }
}

extension Int64 {
    /// The latest time the request cache reckons with, in seconds since 1970: 4,102,444,800 (2100-01-01).
    static let latestTime: Int64 = 4_102_444_800
    /// The longest a submission is reckoned to be kept, in seconds: 31 days (a longer ttl counts as this).
    static let longestKeep = 31 * 86_400

    /// This time within 0 … `latestTime`: arithmetic on times read from memcached never overflows.
    var clamped: Int64 { Swift.min(Swift.max(self, 0), Int64.latestTime) }
}

extension CachedRequest {
    /// When this entry, kept for `ttl` seconds, runs out (seconds since 1970; `created` as read, clamped).
    public func until(ttl: Int) -> Int64 { created.clamped + Int64(Swift.min(Swift.max(ttl, 0), Int64.longestKeep)) }
}
