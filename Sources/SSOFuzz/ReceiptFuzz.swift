import SSOCore
import SSOTesting

/// A kept request's receipt as memcached may hand it back (written by another version, damaged, or planted by anyone
/// who can write to memcached), beside any manifest: what `fate` says of it and what replays do with it.
enum ReceiptFuzz {
    static let target = FuzzTarget(
        name: "request-cache-receipt",
        covers: "RequestCacheStore.fate/take/finish with any receipt bytes beside any manifest; the receipt's parser and the times read from it",
        maxLength: 4096,
        dictionary: ["taking ", "done", " ", "1700000000", "1700000030", "1700003600"] + FuzzWords.numbers + FuzzWords.json,
        run: { bytes in run(bytes) })

    /// The input: `receipt NUL manifest NUL part0 NUL part1 …` (no manifest stored when it is empty).
    static func run(_ bytes: [UInt8]) {
        let fields = FuzzInput.fields(bytes)
        let receipt = Array(fields[0])
        let manifest = fields.count > 1 ? Array(fields[1]) : []
        let parts = fields.dropFirst(2).map { Array($0) }
        let now = FuzzKeys.now
        let kv = InMemoryStore(now: { now })
        let cache = RequestCacheStore(kv: kv, prefix: "sso:")
        do {
            try kv.set("sso:q:fz:r", receipt, ttl: 60)
            if !manifest.isEmpty {
                try kv.set("sso:q:fz", manifest, ttl: 60)
                for (n, part) in parts.enumerated() { try kv.set("sso:q:fz:\(n)", part, ttl: 60) }
            }
            let before = try cache.fate("fz", now: now)
            let first = try cache.take("fz", now: now, deadline: now + 30)
            let second = try cache.take("fz", now: now, deadline: now + 30)
            // A receipt that says another replay has the entry makes this one back off, whatever the manifest says.
            FuzzCheck.require((before == .inFlight) == (first == .busy), "fate said \(before), and take found \(first)")
            FuzzCheck.require((before == .finished) == (first == .finished), "fate said \(before), and take found \(first)")
            switch first {
            case .entry, .broken:
                // This replay holds the claim until its deadline: a second one backs off, and readers are told so.
                FuzzCheck.require(second == .busy, "a taken entry's claim did not stop a second replay: \(second)")
                FuzzCheck.require(try cache.fate("fz", now: now) == .inFlight, "a claimed entry is not in flight")
                // Put back only under its own claim (the deadline it was taken with), and then it waits again.
                if let (entry, body) = first.value {
                    let other = try cache.putBack(entry, body: body, id: "fz", ttl: 30, until: now + 30, claimedUntil: now + 29)
                    let afterOther = try cache.peek("fz")
                    FuzzCheck.require(other == .elsewhere && afterOther == nil, "a put-back under another's live claim: \(other)")
                    let own = try cache.putBack(entry, body: body, id: "fz", ttl: 30, until: now + 30, claimedUntil: now + 30)
                    let afterOwn = try cache.peek("fz"), fateAfterOwn = try cache.fate("fz", now: now)
                    FuzzCheck.require(own == .kept && afterOwn != nil && fateAfterOwn == .lost, "a put-back under its own claim: \(own)")
                }
            case .busy:
                FuzzCheck.require(second == .busy, "another replay's claim held once, then not")
            case .gone, .finished:
                FuzzCheck.require(second == first, "an entry that was gone came back: \(second)")
                // A take that finds nothing changes no tab's answer (a late tab once turned `done` into `unknown`).
                let after = try cache.fate("fz", now: now)
                FuzzCheck.require(after == before, "a take that found nothing turned \(before) into \(after)")
            }
            // Past every deadline this input could have set, no claim blocks a replay for ever.
            let late = now + 31
            if case .busy = try cache.take("fz", now: late, deadline: late + 30) {
                let stored = try kv.get("sso:q:fz:r") ?? []
                FuzzCheck.require(first == .busy && stored == receipt, "a replay's own claim outlived its deadline")
            }
            // Told lost or cut short only while true: no replay could still deliver it (no manifest).
            let current = try cache.fate("fz", now: now)
            let manifestThere = try cache.peek("fz") != nil  // a readable manifest: what the route calls there
            let settled = try cache.settle("fz", as: current, now: now, remember: 60)
            FuzzCheck.require(settled == ((current == .lost || current == .interrupted) && !manifestThere),
                              "settle as \(current) with the manifest \(manifestThere ? "there" : "gone") said \(settled)")
            if settled { FuzzCheck.require(try cache.fate("fz", now: now) == .finished, "a settled submission is not finished") }
            try cache.finish("fz", remember: 60)
            FuzzCheck.require(try cache.fate("fz", now: now) == .finished, "a finished submission is not finished")
        } catch {
            FuzzCheck.fail("the in-memory store failed: \(error)")
        }
    }
}
