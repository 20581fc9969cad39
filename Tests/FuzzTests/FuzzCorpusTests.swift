import Foundation
import Testing
import SSOCore
@testable import SSOFuzz

/// Every committed fuzz input (the seeds and what the fuzzer kept in fuzz/corpus/, every crash reproducer in
/// fuzz/regressions/) runs through its target on every `swift test`, invariants included: a crash fixed once stays fixed.
@Suite struct FuzzCorpusTests {
    static let fuzzFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fuzz")

    static func inputs(_ kind: String, _ target: String) -> [URL] {
        let folder = fuzzFolder.appendingPathComponent(kind).appendingPathComponent(target)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().map { folder.appendingPathComponent($0) }
    }

    @Test(arguments: FuzzTarget.all.map(\.name))
    func corpusAndRegressionsRunClean(_ name: String) throws {
        let target = try #require(FuzzTarget.named(name))
        let corpus = Self.inputs("corpus", name)
        #expect(!corpus.isEmpty, "fuzz/corpus/\(name) has no seeds")
        for file in corpus + Self.inputs("regressions", name) {
            target.run(Array(try Data(contentsOf: file)))
        }
    }

    /// The config target's generated configs start from one that loads, so each key it sets is judged on its own.
    @Test func generatedConfigsStartFromOneThatLoads() throws {
        let base = GeneratedConfig.yaml(from: [])
        #expect(throws: Never.self) { try ConfigLoader.load(contents: Array(base.utf8), file: "/etc/sso/sso.yaml") }
        let oneKey = GeneratedConfig.yaml(from: [UInt8(GeneratedConfig.keys.firstIndex(of: "request_cache.ttl")!), 4])
        #expect(oneKey.contains("request_cache: {ttl: 0}"), "\(oneKey)")
    }
}
