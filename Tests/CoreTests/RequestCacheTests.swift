import Foundation
import Testing
@testable import SSOCore
@testable import SSOCrypto
@testable import SSOJWT
@testable import SSOStore
@testable import FastCGI
import SSOTesting
import Synchronization

@Suite struct RequestCacheTests {
    func entry(_ body: [UInt8]) -> CachedRequest {
        CachedRequest(method: "POST", uri: "/f?x=1", origin: "https://app.test", headers: [["content-type", "text/plain"]],
                      bodyLength: body.count, bodySHA256: Digest.sha256Hex(body), user: "alice", fingerprint: "fp",
                      created: 1, dropped: nil, parts: 0)
    }

    /// A store at time 1,000 and a one-byte entry created then (kept with ttl 60, it waits until 1,060).
    func keptAtOneThousand() -> (InMemoryStore, RequestCacheStore, CachedRequest) {
        let kv = InMemoryStore(now: { 1_000 })
        var kept = entry([1])
        kept.created = 1_000
        kept.parts = 1
        return (kv, RequestCacheStore(kv: kv, prefix: "t:"), kept)
    }

    @Test func bodiesLargerThanOnePartRoundTripExactlyOnce() throws {
        let store = RequestCacheStore(kv: InMemoryStore(now: { 100 }), prefix: "t:")
        let body = (0..<(RequestCacheStore.partSize * 2 + 17)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try store.put(entry(body), body: body, id: "id1", ttl: 60)
        #expect(try store.peek("id1")?.parts == 3)
        let taken = try #require(try store.take("id1", now: 100, deadline: 200).value)
        #expect(taken.body == body && taken.entry.uri == "/f?x=1")
        #expect(try store.take("id1", now: 100, deadline: 200) == .busy)  // claimed by the replay that has it
        #expect(try store.take("id1", now: 300, deadline: 400) == .gone)  // past its deadline: nothing left to take
        #expect(try store.peek("id1") == nil)
    }

    @Test func emptyBodyAndMissingPartsAndUnsafeIDs() throws {
        let kv = InMemoryStore(now: { 100 })
        let store = RequestCacheStore(kv: kv, prefix: "t:")
        try store.put(entry([]), body: [], id: "empty", ttl: 60)
        #expect(try store.take("empty", now: 100, deadline: 200).value?.body == [])
        let body = [UInt8](repeating: 7, count: RequestCacheStore.partSize + 1)
        try store.put(entry(body), body: body, id: "gap", ttl: 60)
        _ = try kv.delete("t:q:gap:1")
        #expect(try store.take("gap", now: 100, deadline: 200) == .broken)  // never a partial body
        #expect(throws: StoreError.self) { try store.put(entry([]), body: [], id: "../x", ttl: 60) }
        #expect(try store.take("bad key", now: 100, deadline: 200).value == nil)
    }

    /// A manifest from memcached whose part count does not follow from its length (negative, huge, damaged) trapped on
    /// `0..<parts` or reserved `bodyLength` bytes up front (fuzz/regressions/request-cache/): it is no entry.
    @Test func damagedManifestsAreNoEntryNeverACrash() throws {
        let kv = InMemoryStore(now: { 100 })
        let store = RequestCacheStore(kv: kv, prefix: "t:")
        var now: Int64 = 100
        for (length, parts) in [(0, -1), (3, -1), (-3, 0), (Int.max, 1), (Int.max, Int.max), (Int.max / 2, Int.max / 2 / RequestCacheStore.partSize + 1),
                                (3, 1 << 40), (3, 2), (RequestCacheStore.partSize + 1, 1)] {
            var damaged = entry([1, 2, 3])
            damaged.bodyLength = length
            damaged.parts = parts
            try kv.set("t:q:bad", Array(try JSONEncoder().encode(damaged)), ttl: 60)
            try kv.set("t:q:bad:0", [1, 2, 3], ttl: 60)
            #expect(try store.take("bad", now: now, deadline: now + 50).value == nil, "bodyLength \(length), parts \(parts)")
            now += 100  // past the last take's deadline
        }
        var good = entry([1, 2, 3])
        good.parts = 1
        try kv.set("t:q:bad", Array(try JSONEncoder().encode(good)), ttl: 60)
        try kv.set("t:q:bad:0", [1, 2, 3], ttl: 60)
        #expect(try store.take("bad", now: now, deadline: now + 50).value?.body == [1, 2, 3])
    }

    /// memcached is shared, and its items can be written by anything that reaches it: a body part swapped for bytes of
    /// the same length (a forged transfer in place of the user's form) fails the manifest's SHA-256 and is no entry,
    /// never delivered.
    @Test func aBodyPartSwappedInTheStoreIsNeverTaken() throws {
        let kv = InMemoryStore(now: { 100 })
        let store = RequestCacheStore(kv: kv, prefix: "t:")
        let body = [UInt8](repeating: 0x61, count: RequestCacheStore.partSize + 9)
        try store.put(entry(body), body: body, id: "swap", ttl: 60)
        let part = try #require(try kv.get("t:q:swap:1"))
        let forged = [UInt8](repeating: 0x62, count: part.count)
        try kv.set("t:q:swap:1", forged, ttl: 60)
        let taken = try store.take("swap", now: 100, deadline: 200)
        #expect(taken == .broken)
        #expect(taken.value == nil)
    }

    /// The receipt's states as `take`, `putBack` and `finish` leave them, and what a reader makes of each once the entry
    /// is gone; and receipt values from memcached that no clock shows are no receipt, never a trap.
    @Test func theReceiptSaysWhatBecameOfASubmission() throws {
        let (kv, store, kept) = keptAtOneThousand()
        try store.put(kept, body: [1], id: "r", ttl: 60)  // waits until 1,060
        #expect(try store.take("r", now: 1_010, deadline: 1_020).value != nil)
        #expect(try store.fate("r", now: 1_015) == .inFlight)
        #expect(try store.take("r", now: 1_015, deadline: 1_025) == .busy)
        #expect(try store.fate("r", now: 1_021) == .interrupted)  // its replay never finished
        #expect(try store.putBack(kept, body: [1], id: "r", ttl: 39, until: 1_060, claimedUntil: 1_020) == .kept)
        _ = try kv.delete("t:q:r")  // memcached loses it
        #expect(try store.fate("r", now: 1_030) == .lost && store.fate("r", now: 1_060) == .ranOut)
        try store.finish("r", remember: 60)
        #expect(try store.fate("r", now: 1_030) == .finished)
        _ = try kv.delete("t:q:r:r")
        #expect(try store.fate("r", now: 1_030) == .unknown)
        // Without a receipt the take claims one with `add`; the entry already gone, it is left as it was found.
        #expect(try store.take("r", now: 1_030, deadline: 1_040) == .gone && store.fate("r", now: 1_031) == .unknown)
        for hostile in ["9223372036854775807", "-9223372036854775808", "taking 9223372036854775807 1", "taking 1 -5", "done ", "", "1 2"] {
            try kv.set("t:q:r:r", Array(hostile.utf8), ttl: 60)
            #expect(try store.fate("r", now: 1_030) == .unknown, "\(hostile)")
            try store.put(kept, body: [1], id: "h", ttl: 60)
            try kv.set("t:q:h:r", Array(hostile.utf8), ttl: 60)
            _ = try store.take("h", now: 1_030, deadline: 1_040)
        }
    }

    /// Six tabs open the kept form's page at once: one delivers it and finishes it, while another, routed to the replay
    /// before that, comes to `take` only after. That late take used to claim the `done` receipt, find no manifest and
    /// delete the receipt, so every tab after it was told the submission was lost (e2e: test_tabs_opening_the_kept_
    /// forms_page_at_once...). A take that finds nothing leaves the receipt as it found it.
    @Test func aTakeAfterTheSubmissionWasFinishedLeavesItFinished() throws {
        let (kv, store, kept) = keptAtOneThousand()
        try store.put(kept, body: [1], id: "tab", ttl: 60)
        #expect(try store.take("tab", now: 1_001, deadline: 1_020).value != nil)  // the first tab delivers it
        try store.finish("tab", remember: 60)
        #expect(try store.take("tab", now: 1_002, deadline: 1_021) == .finished)  // the late tab
        #expect(try store.fate("tab", now: 1_003) == .finished)
        #expect(try kv.get("t:q:tab:r") == Array("done".utf8))
        // Also for a receipt that says it waits while its manifest is gone (memcached lost it): still lost, not unknown.
        try store.put(kept, body: [1], id: "lost", ttl: 60)
        _ = try kv.delete("t:q:lost")
        #expect(try store.take("lost", now: 1_002, deadline: 1_021) == .gone && store.fate("lost", now: 1_003) == .lost)
        // And a replay that died with it (its claim past its deadline) stays told as cut short, not as waiting again.
        try store.put(kept, body: [1], id: "died", ttl: 60)
        #expect(try store.take("died", now: 1_001, deadline: 1_020).value != nil)  // its program dies with it
        #expect(try store.take("died", now: 1_030, deadline: 1_049) == .gone && store.fate("died", now: 1_031) == .interrupted)
    }

    /// A tab that read "lost" (the receipt waits, the manifest is gone) while the app was down and other tabs' replays
    /// put the form back: its `done` once landed beside a put-back manifest, and the reload that tab had been promised
    /// ("still kept, reload") then delivered nothing. Now `done` is written for a lost or cut-short tale only while it is
    /// still true.
    @Test func aLostOrCutShortTaleIsRecordedOnlyWhileItIsStillTrue() throws {
        let (kv, store, kept) = keptAtOneThousand()
        try store.put(kept, body: [1], id: "p", ttl: 60)
        let a = try #require(try store.take("p", now: 1_001, deadline: 1_020).value)  // tab A; the app is down
        #expect(try store.putBack(a.entry, body: a.body, id: "p", ttl: 59, until: 1_060, claimedUntil: 1_020) == .kept)
        let c = try #require(try store.take("p", now: 1_002, deadline: 1_021).value)  // tab C; still down
        // Tab B read the receipt `waiting` (after A's put-back) and the manifest gone (C has it): "lost". Not so.
        #expect(try store.settle("p", as: .lost, now: 1_003, remember: 60) == false)
        #expect(try store.putBack(c.entry, body: c.body, id: "p", ttl: 58, until: 1_060, claimedUntil: 1_021) == .kept)
        #expect(try store.settle("p", as: .lost, now: 1_004, remember: 60) == false)  // back: the reload delivers it
        #expect(try store.take("p", now: 1_005, deadline: 1_024).value?.body == [1])
        // Truly lost (memcached dropped the manifest; the receipt still waits) or cut short (a replay died with it).
        try store.put(kept, body: [1], id: "q", ttl: 60)
        _ = try kv.delete("t:q:q")
        #expect(try store.settle("q", as: .interrupted, now: 1_010, remember: 60) == false)  // not what it says
        #expect(try store.settle("q", as: .lost, now: 1_010, remember: 60) && store.fate("q", now: 1_011) == .finished)
        // Bytes that are no manifest are gone to the route (`peek`): so to the record, or each page redirects to itself.
        try store.put(kept, body: [1], id: "u", ttl: 60)
        try kv.set("t:q:u", Array("xxxxx".utf8), ttl: 60)
        #expect(try store.settle("u", as: .lost, now: 1_010, remember: 60))
        try store.put(kept, body: [1], id: "d", ttl: 60)
        #expect(try store.take("d", now: 1_001, deadline: 1_020).value != nil)
        #expect(try store.settle("d", as: .interrupted, now: 1_019, remember: 60) == false)  // still within its deadline
        #expect(try store.settle("d", as: .interrupted, now: 1_030, remember: 60) && store.fate("d", now: 1_031) == .finished)
    }

    /// A replay whose send to the app outlasts its claim (slow name resolution, addresses that never answer) and then
    /// fails before sending: meanwhile another tab told the replay as cut short ("may or may not have been received")
    /// and recorded `done`. Its put-back once overwrote that `done` with "waiting": the first tab was promised a reload
    /// its cookie no longer led to, or the form went to the app after the user was told to check before sending again.
    @Test func aPutBackAfterItsClaimWasOvertakenLeavesNothingBehind() throws {
        let (_, store, kept) = keptAtOneThousand()
        try store.put(kept, body: [1], id: "slow", ttl: 60)
        let taken = try #require(try store.take("slow", now: 1_001, deadline: 1_020).value)
        #expect(try store.settle("slow", as: .interrupted, now: 1_025, remember: 60))  // another tab, past the deadline
        #expect(try store.putBack(taken.entry, body: taken.body, id: "slow", ttl: 35, until: 1_060, claimedUntil: 1_020) == .finished)
        #expect(try store.fate("slow", now: 1_026) == .finished && store.peek("slow") == nil)
    }

    /// Replay A (claim until 1,020) could not reach the app; just before its put-back's compare-and-swap, replay C acts
    /// at 1,030, past A's deadline: `c` runs once, on a store of its own. Returns A's answer and a plain view of the store.
    func putBackOvertaken(by c: @escaping @Sendable (RequestCacheStore) throws(StoreError) -> Void) throws -> (RequestCacheStore.PutBack, RequestCacheStore) {
        let (kv, _, kept) = keptAtOneThousand()
        let plain = RequestCacheStore(kv: kv, prefix: "t:")
        try plain.put(kept, body: [1], id: "x", ttl: 60)
        let a = try #require(try plain.take("x", now: 1_001, deadline: 1_020).value)
        let once = Mutex(false)
        let racing = InterleavingStore(kv) { operation, key throws(StoreError) in
            guard operation == "replace", key == "t:q:x:r", once.withLock({ done in defer { done = true }; return !done }) else { return }
            try c(RequestCacheStore(kv: kv, prefix: "t:"))
        }
        let answer = try RequestCacheStore(kv: racing, prefix: "t:").putBack(a.entry, body: a.body, id: "x", ttl: 30, until: 1_060,
                                                                             claimedUntil: 1_020)
        return (answer, plain)
    }

    /// C's send fails fast too, so C puts the form back and promises its tab a reload: A leaves it kept (the old
    /// put-back deleted it, and C's reload found nothing).
    @Test func aPutBackThatLostItsClaimLeavesAnotherReplaysPutBackKept() throws {
        let (answer, plain) = try putBackOvertaken { c throws(StoreError) in
            guard let taken = try c.take("x", now: 1_030, deadline: 1_049).value else { return }
            _ = try c.putBack(taken.entry, body: taken.body, id: "x", ttl: 30, until: 1_060, claimedUntil: 1_049)
        }
        #expect(answer == .kept)
        #expect(try plain.peek("x") != nil && plain.fate("x", now: 1_031) == .lost, "C's put-back was undone")
    }

    /// C's send is still under way: A's tab is told another tab has it (the old put-back told it "nothing was sent,
    /// send it again" while C delivered it).
    @Test func aPutBackThatLostItsClaimToALiveReplaySaysItIsElsewhere() throws {
        let (answer, plain) = try putBackOvertaken { c throws(StoreError) in
            _ = try c.take("x", now: 1_030, deadline: 1_049)
        }
        #expect(answer == .elsewhere)
        #expect(try plain.fate("x", now: 1_031) == .inFlight && plain.peek("x") == nil)
    }

    /// The receipt says the form waits but memcached lost the form: the replay that still has it puts it back; with
    /// no receipt at all it records `done` (by `add`) and its tab is told it was not delivered.
    @Test func aPutBackRestoresAFormMemcachedLostAndDropsOneWithNoReceipt() throws {
        let (kv, store, kept) = keptAtOneThousand()
        try store.put(kept, body: [1], id: "w", ttl: 60)
        let taken = try #require(try store.take("w", now: 1_001, deadline: 1_020).value)
        try kv.set("t:q:w:r", Array("1060".utf8), ttl: 60)  // waits, and no manifest
        #expect(try store.putBack(taken.entry, body: taken.body, id: "w", ttl: 59, until: 1_060, claimedUntil: 1_020) == .kept)
        #expect(try store.peek("w") != nil)
        _ = try kv.take("t:q:w")
        _ = try kv.delete("t:q:w:r")
        #expect(try store.putBack(taken.entry, body: taken.body, id: "w", ttl: 59, until: 1_060, claimedUntil: 1_020) == .dropped)
        #expect(try store.fate("w", now: 1_002) == .finished && store.peek("w") == nil)
    }

    @Test func takeIsSingleUseUnderConcurrency() throws {
        let kv = InMemoryStore(now: { 100 })
        let store = RequestCacheStore(kv: kv, prefix: "t:")
        for i in 0..<50 { try store.put(entry([1, 2, 3]), body: [1, 2, 3], id: "c\(i)", ttl: 60) }
        final class Wins: @unchecked Sendable { let lock = NSLock(); var counts = [Int](repeating: 0, count: 50) }
        let wins = Wins()
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            let mine = RequestCacheStore(kv: kv, prefix: "t:")
            for i in 0..<50 where (try? mine.take("c\(i)", now: 100, deadline: 200))?.value != nil {
                wins.lock.lock(); wins.counts[i] += 1; wins.lock.unlock()
            }
        }
        #expect(wins.counts.allSatisfy { $0 == 1 })
    }

    @Test func policy() {
        #expect(ReplayPolicy.isReplayable(contentType: "application/x-www-form-urlencoded", bodyLength: 3))
        #expect(ReplayPolicy.isReplayable(contentType: "multipart/form-data; boundary=x", bodyLength: 3))
        #expect(ReplayPolicy.isReplayable(contentType: "application/json; charset=utf-8", bodyLength: 3))
        #expect(ReplayPolicy.isReplayable(contentType: "application/vnd.api+json", bodyLength: 3))
        #expect(!ReplayPolicy.isReplayable(contentType: "application/octet-stream", bodyLength: 3))
        #expect(!ReplayPolicy.isReplayable(contentType: nil, bodyLength: 3))
        #expect(ReplayPolicy.isReplayable(contentType: nil, bodyLength: 0))
        let origin = Origin(parsing: "https://app.test:8443")!
        let req = { (p: [String: String]) in HTTPRequest(params: p) }
        #expect(ReplayPolicy.isSameOrigin(req(["HTTP_ORIGIN": "https://app.test:8443"]), origin: origin))
        #expect(!ReplayPolicy.isSameOrigin(req(["HTTP_ORIGIN": "https://evil.test"]), origin: origin))
        // An origin is scheme, host and port: another port of the host (another app, whose cookies are not separated
        // by port) or plain http (anyone on the path) is cross-origin, and its forms are never kept.
        #expect(!ReplayPolicy.isSameOrigin(req(["HTTP_ORIGIN": "https://app.test:9443"]), origin: origin))
        #expect(!ReplayPolicy.isSameOrigin(req(["HTTP_ORIGIN": "http://app.test:8443"]), origin: origin))
        #expect(!ReplayPolicy.isSameOrigin(req(["HTTP_ORIGIN": "null"]), origin: origin))
        #expect(ReplayPolicy.isSameOrigin(req(["HTTP_SEC_FETCH_SITE": "same-origin"]), origin: origin))
        #expect(!ReplayPolicy.isSameOrigin(req(["HTTP_SEC_FETCH_SITE": "same-site"]), origin: origin))
        #expect(!ReplayPolicy.isSameOrigin(req([:]), origin: origin))
        let kept = ReplayPolicy.keptHeaders(req(["HTTP_COOKIE": "a=b", "HTTP_X_REMOTE_USER": "mallory", "HTTP_REFERER": "r",
                                                "CONTENT_TYPE": "text/plain", "HTTP_CONTENT_TYPE": "text/plain", "HTTP_HOST": "h",
                                                "CONTENT_LENGTH": "3", "HTTP_CONNECTION": "close"]))
        #expect(kept == [["content-type", "text/plain"], ["referer", "r"]])
        #expect(ReplayPolicy.size(1 << 20) == "1 MiB" && ReplayPolicy.size(256 * 1024) == "256 KiB")
    }

    /// Only what a browser sends with a form is replayed: a header the web server would have replaced or removed on
    /// the way to the app (nginx keeps a form before its proxy_set_header lines run) never is.
    @Test func onlyTheHeadersABrowserFormSendsAreReplayed() {
        for name in ["content-type", "origin", "referer", "user-agent", "accept", "accept-language", "sec-fetch-site",
                     "sec-ch-ua-platform", "upgrade-insecure-requests"] {
            #expect(ReplayPolicy.isReplayed(name), "\(name)")
        }
        for name in ["x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "forwarded", "x-real-ip", "x-forwarded-user",
                     "x-remote-user", "host", "cookie", "content-length", "transfer-encoding", "connection", "authorization",
                     "x-requested-with", "x-draft-note", "Content-Type"] {
            #expect(!ReplayPolicy.isReplayed(name), "\(name)")
        }
    }

    @Test func backendResponsesParse() throws {
        let client = SocketBackendClient(timeoutSeconds: 1, maxResponseBytes: 1000)
        let plain = try client.parse(Array("HTTP/1.1 201 Created\r\nContent-Length: 5\r\nX-A: b\r\nConnection: close\r\n\r\nhelloEXTRA".utf8))
        #expect(plain.status == 201 && plain.body == Array("hello".utf8) && plain.header(.known("X-A")) == "b" && plain.header(.connection) == nil)
        let chunked = try client.parse(Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;x=y\r\n world\r\n0\r\n\r\n".utf8))
        #expect(chunked.body == Array("hello world".utf8) && chunked.header(.transferEncoding) == nil)
        let untilClose = try client.parse(Array("HTTP/1.0 200 OK\r\n\r\nall of it".utf8))
        let manyFields = try client.parse(Array(("HTTP/1.1 204 No Content\r\n" + String(repeating: "a: b\r\n", count: 1_000) + "\r\n").utf8))
        #expect(manyFields.headers.count == 1_000)
        #expect(untilClose.body == Array("all of it".utf8))
        for bad in ["garbage", "HTTP/1.1 abc\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort",
                    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n7fffffffffffffff\r\nabc\r\n0\r\n\r\n",
                    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc",
                    "HTTP/1.1 99999999999999999999 OK\r\n\r\n",
                    "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\nabc",
                    "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", "HTTP/1.1 200 OK\r\n\r\n" + String(repeating: "x", count: 1001),
                    "HTTP/1.1 200 OK\r\n" + String(repeating: "a: b\r\n", count: 70_000) + "\r\n",
                    "HTTP/1.1 200 OK\r\n" + String(repeating: "\n", count: 70_000) + "\r\n\r\n",
                    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1" + String(repeating: ";", count: 2_000) + "\r\na\r\n0\r\n\r\n"] {
            #expect(throws: BackendError.self) { try client.parse(Array(bad.utf8)) }
        }
        #expect(throws: BackendError.self) {
            try client.send(BackendRequest(method: "GET", uri: "/", headers: [], body: []), to: .tcp(host: "127.0.0.1", port: 1))
        }
        #expect(BackendAddress(parsing: "http://127.0.0.1:8081") == .tcp(host: "127.0.0.1", port: 8081))
        #expect(BackendAddress(parsing: "unix:/run/app.sock") == .unix("/run/app.sock"))
        for bad in ["https://x:1", "http://x", "http://u@x:1", "ftp://x:1", ""] { #expect(BackendAddress(parsing: bad) == nil) }
    }

    /// Forms kept in several tabs: the cookie names each, oldest first, and never more than the limit.
    @Test func theReplayCookieNamesTheNewestFewSubmissions() {
        #expect(ReplayCookie.ids(nil) == [] && ReplayCookie.ids("") == [] && ReplayCookie.ids("..") == [])
        let many = (0..<9).map { n in String(repeating: "A", count: 42) + String("AEIMQUYcgk".map { $0 }[n]) }
        let a = many[0], b = many[1]
        #expect(ReplayCookie.ids(a + "." + b) == [a, b] && ReplayCookie.value([a, b]) == a + "." + b)
        #expect(ReplayCookie.value(many) == many.suffix(5).joined(separator: "."))
        #expect(ReplayCookie.ids(many.joined(separator: ".")) == Array(many.prefix(ReplayCookie.limit)))
        // A forged cookie: each id read once, nothing that cannot be an id, never more than the limit.
        #expect(ReplayCookie.ids([a, a, a, "x", "too-many", "too-many", b, String(a.dropLast()), a + "A"].joined(separator: "."))
                == [a, "too-many", b])
    }
}
