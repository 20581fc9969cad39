import Foundation
import Testing
import SSOFuzz

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
}
