import FoundationEssentials
import SSOCore
import SSOCrypto
import SSOTesting

/// What AppAuthFCGI reads back from memcached after a sign-in: a kept request's manifest and body parts, and a
/// requestID's hand-off. The input is the manifest (and the hand-off), then NUL, then each body part, NUL-separated.
enum RequestCacheFuzz {
    static let target = FuzzTarget(
        name: "request-cache",
        covers: "RequestCacheStore.peek/take/put over an in-memory store; JSONDecoder of CachedRequest and RequestHandoff; SessionStore.peekHandoff/redeemHandoff; RequestHandoff.belongs",
        maxLength: 8192,
        dictionary: ["\"method\"", "\"uri\"", "\"origin\"", "\"headers\"", "\"bodyLength\"", "\"bodySHA256\"", "\"user\"",
                     "\"fingerprint\"", "\"created\"", "\"dropped\"", "\"parts\"", "\"jwt\"", "\"stateDigest\"", "\"POST\"",
                     "\u{0}", "262144"] + FuzzWords.numbers + FuzzWords.json,
        run: { bytes in run(bytes) })

    static func run(_ bytes: [UInt8]) {
        let fields = FuzzInput.fields(bytes)
        let manifest = Array(fields[0])
        let parts = fields.dropFirst().map { Array($0) }
        let kv = InMemoryStore(now: { FuzzKeys.now })
        let cache = RequestCacheStore(kv: kv, prefix: "sso:")
        let sessions = SessionStore(kv: kv, prefix: "sso:")
        do {
            try kv.set("sso:q:fz", manifest, ttl: 60)
            for (n, part) in parts.enumerated() { try kv.set("sso:q:fz:\(n)", part, ttl: 60) }
            let decoded = try? JSONDecoder().decode(CachedRequest.self, from: Data(manifest))
            FuzzCheck.require(try cache.peek("fz") == decoded, "peek disagrees with JSONDecoder")
            if let taken = try cache.take("fz", now: 100, deadline: 200).value {
                FuzzCheck.require(taken.body.count == taken.entry.bodyLength && Digest.sha256Hex(taken.body) == taken.entry.bodySHA256,
                                  "take returned a body its manifest does not describe")
                FuzzCheck.require(try cache.take("fz", now: 100, deadline: 200).value == nil, "an entry was taken twice")
            }
            if let decoded { try roundTrip(decoded, body: parts.flatMap { $0 }, cache) }

            try kv.set("sso:r:fz", manifest, ttl: 60)
            let handoff = try sessions.peekHandoff("fz")
            FuzzCheck.require(handoff == (try? JSONDecoder().decode(RequestHandoff.self, from: Data(manifest))), "peekHandoff disagrees with JSONDecoder")
            if let handoff {
                _ = handoff.belongs(toState: "abcdefghijklmnopqrstuvwxyz012345")
                _ = handoff.belongs(toState: String(decoding: parts.first ?? [], as: UTF8.self))
            }
            FuzzCheck.require(try sessions.redeemHandoff("fz") == handoff, "redeem disagrees with peek")
            FuzzCheck.require(try sessions.redeemHandoff("fz") == nil, "a hand-off was redeemed twice")
        } catch {
            FuzzCheck.fail("the in-memory store failed: \(error)")
        }
    }

    /// What `put` stores, `take` gives back once, byte for byte.
    static func roundTrip(_ entry: CachedRequest, body: [UInt8], _ cache: RequestCacheStore) throws {
        var entry = entry
        entry.bodyLength = body.count
        entry.bodySHA256 = Digest.sha256Hex(body)
        try cache.put(entry, body: body, id: "rt", ttl: 60)
        guard let taken = try cache.take("rt", now: 100, deadline: 200).value else { FuzzCheck.fail("a stored entry could not be taken") }
        entry.parts = taken.entry.parts
        FuzzCheck.require(taken.entry == entry && taken.body == body, "put then take changed the entry or its body")
    }
}
