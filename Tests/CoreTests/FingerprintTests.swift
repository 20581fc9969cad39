import SSOCrypto
import Testing
@testable import SSOCore

/// The remembered fingerprints are the definition's: whatever the order, repetition or length of the values.
@Suite struct FingerprintTests {
    @Test func rememberedValuesEqualTheDefinition() {
        let agents = (0..<50).map { "Mozilla/5.0 (agent \($0))" } + ["", String(repeating: "x", count: 600), "é ü 💡"]
        for round in 0..<3 {
            for agent in agents.shuffled() {
                let expected = String(Digest.sha256Hex(Array(agent.utf8)).prefix(32))
                #expect(Fingerprint.of(userAgent: agent) == expected, "round \(round)")
            }
        }
    }

    @Test func aFullMemoStartsAgainAndStaysCorrect() {
        for i in 0..<(Fingerprint.capacity * 2 + 10) {
            let agent = "agent-\(i)"
            #expect(Fingerprint.of(userAgent: agent) == Fingerprint.compute(agent))
        }
        #expect(Fingerprint.of(userAgent: "agent-1") == String(Digest.sha256Hex(Array("agent-1".utf8)).prefix(32)))
    }
}
