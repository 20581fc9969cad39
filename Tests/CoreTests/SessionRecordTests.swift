import SSOCore
import Testing

/// The session record every check parses: read field by field, it must accept and refuse exactly what splitting it at
/// every tab did.
@Suite struct SessionRecordTests {
    /// The reading the record had before: split at every tab, exactly seven fields.
    static func bySplitting(_ bytes: [UInt8]) -> JWTSession? {
        let f = bytes.split(separator: 0x09, omittingEmptySubsequences: false)
        func int(_ d: ArraySlice<UInt8>) -> Int64? {
            guard !d.isEmpty, d.count <= 18, d.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
            return d.reduce(0) { $0 * 10 + Int64($1 - 0x30) }
        }
        guard f.count == 7, f[0].elementsEqual("s1".utf8), !f[1].isEmpty, let a = int(f[2]), let b = int(f[3]),
              let c = int(f[5]), let d = int(f[6]) else { return nil }
        return JWTSession(user: String(decoding: f[1], as: UTF8.self), lastAccessedTime: a, sessionTimeout: b,
                          fingerprint: String(decoding: f[4], as: UTF8.self), created: c, expiresAt: d)
    }

    @Test func roundTrips() {
        let s = JWTSession(user: "alice", lastAccessedTime: 1_700_000_000, sessionTimeout: 1800, fingerprint: "ab12",
                           created: 1_699_999_000, expiresAt: 1_700_028_800)
        #expect(JWTSession(record: s.record) == s)
        let empty = JWTSession(user: "bob", lastAccessedTime: 0, sessionTimeout: 0, fingerprint: "", created: 0, expiresAt: 0)
        #expect(JWTSession(record: empty.record) == empty)
    }

    @Test func refusesWhatSplittingRefused() {
        let cases = ["", "s1", "\t", "s1\talice\t1\t2\tfp\t3", "s1\talice\t1\t2\tfp\t3\t4\t", "s1\talice\t1\t2\tfp\t3\t4\t5",
                     "s2\talice\t1\t2\tfp\t3\t4", "s1\t\t1\t2\tfp\t3\t4", "s1\talice\t\t2\tfp\t3\t4", "s1\talice\t1\t2\tfp\t3\t",
                     "s1\talice\t1\t2\tfp\t3\t4x", "s1\talice\t1\t2\t\t3\t4", "\ts1\talice\t1\t2\tfp\t3", "s1\talice\t1\t2\tfp\t3\t4",
                     "s1\talice\t1234567890123456789\t2\tfp\t3\t4", "s1\tal\u{0}ice\t1\t2\tf p\t3\t4"]
        for text in cases {
            let bytes = Array(text.utf8)
            #expect(JWTSession(record: bytes) == Self.bySplitting(bytes), "\(text.debugDescription)")
        }
    }

    /// Random records from a small alphabet (tabs, digits, letters), where every shape comes up.
    @Test func agreesWithSplittingOnRandomRecords() {
        var rng = SystemRandomNumberGenerator()
        let alphabet = Array("\t\t\t0123456789s1a".utf8)
        var accepted = 0
        for _ in 0..<20_000 {
            var bytes = Array("s1\t".utf8)
            for _ in 0..<Int.random(in: 0...20, using: &rng) { bytes.append(alphabet.randomElement(using: &rng)!) }
            let ours = JWTSession(record: bytes)
            #expect(ours == Self.bySplitting(bytes), "\(bytes)")
            if ours != nil { accepted += 1 }
        }
        #expect(accepted > 0)
    }
}
