import Testing
@testable import SSOCore
@testable import SSOYAML

/// The YAML layer the config, users file and ssoctl's edits read through (libyaml, no Foundation): YAML 1.1's reading
/// of values as the config has always had it, and every hostile shape refused with a line and column.
@Suite struct YAMLParserTests {
    private func value(_ text: String) throws -> YAMLNode? {
        try YAMLParser.compose("v: \(text)\n")?.mapping?["v"]
    }

    @Test func integersAreReadAsYAML11() throws {
        let cases: [(String, Int?)] = [("0", 0), ("42", 42), ("-7", -7), ("+7", 7), ("1_000", 1000), ("0x1F", 31), ("0b101", 5),
                                       ("0o17", 15), ("017", 15), ("1:30", 90), ("09", nil), ("4.5", nil), ("soon", nil), ("", nil),
                                       ("99999999999999999999", nil), ("'5'", nil), ("\"5\"", nil)]
        for (written, expected) in cases {
            #expect(try value(written)?.int == expected, "\(written)")
        }
    }

    @Test func onlyPlainYesNoWordsAreFlags() throws {
        for word in ["true", "True", "YES", "on"] { #expect(try value(word)?.bool == true, "\(word)") }
        for word in ["false", "No", "OFF"] { #expect(try value(word)?.bool == false, "\(word)") }
        for word in ["'true'", "\"yes\"", "!!str on", "1", "y", "truthy", "[true]"] { #expect(try value(word)?.bool == nil, "\(word)") }
    }

    @Test func keepsOrderMarksAndStyle() throws {
        let text = "# top\nb: 1\na:\n  - x\n  - {k: v}\nc: \"q\"\n"
        let root = try #require(try YAMLParser.compose(text)?.mapping)
        #expect(root.keys.compactMap(\.string) == ["b", "a", "c"])
        #expect(root.keys[1].mark == YAMLMark(line: 3, column: 1))
        let list = try #require(root["a"]?.sequence)
        #expect(list[0].string == "x" && list[0].mark == YAMLMark(line: 4, column: 5))
        #expect(list[1].mapping?.isFlow == true && list[1].mapping?["k"]?.string == "v")
        #expect(root["c"]?.scalar?.style == .doubleQuoted && root["missing"] == nil)
        #expect(try YAMLParser.compose("") == nil && YAMLParser.compose("# only a comment\n") == nil)
        #expect(try YAMLParser.compose("key:\n")?.mapping?["key"]?.string == "")
    }

    @Test func aliasesAreCopiedWhereUsed() throws {
        let root = try #require(try YAMLParser.compose("base: &b [1, 2]\ncopy: *b\n")?.mapping)
        #expect(root["copy"]?.sequence?.compactMap(\.int) == [1, 2])
    }

    /// Each of these is refused with a place, never a crash or a silent first-or-last pick.
    @Test func refusesHostileAndAmbiguousDocuments() throws {
        func refusal(_ text: String, limits: YAMLParser.Limits = .init()) -> YAMLError? {
            do { _ = try YAMLParser.compose(text, limits: limits); return nil } catch { return error }
        }
        let twice = refusal("allowed_users: [www-data]\nname: x\nallowed_users: []\n")
        #expect(twice?.problem.contains("allowed_users is written twice") == true && twice?.mark?.line == 3)  // the repeat
        #expect(refusal("a: *nowhere\n")?.problem.contains("names no anchor") == true)
        #expect(refusal("a: &x [*x]\n")?.problem.contains("names no anchor") == true)  // no cycles
        #expect(refusal("a: 1\n---\nb: 2\n")?.problem.contains("more than one document") == true)
        #expect(refusal("a: [unclosed\n")?.mark != nil)
        #expect(refusal("a: b: c\n")?.description.hasPrefix("line 1, column") == true)
        let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(refusal(deep)?.problem.contains("nested more than 64 deep") == true)
        var few = YAMLParser.Limits()
        few.aliases = 3
        #expect(refusal("a: &a x\nb: [*a, *a, *a, *a]\n", limits: few)?.problem.contains("more than 3 aliases") == true)
        // Bytes that are not UTF-8 reach the parser only through String, which replaces them: still no crash.
        #expect(refusal(String(decoding: [0x61, 0x3A, 0x20, 0xFF, 0xFE, 0x0A], as: UTF8.self)) == nil)
    }

    /// Through the config loader: a repeated key is a problem of the file, not the first or last value silently.
    @Test func aConfigWithARepeatedKeyDoesNotLoad() throws {
        let text = ConfigTests.valid + "\ncookie: {name: __Host-a}\ncookie: {name: __Host-b}\n"
        do { _ = try ConfigLoader.load(contents: Array(text.utf8), file: "/etc/sso/sso.yaml"); Issue.record("expected error") } catch {
            #expect(error.problems.first?.key == "(syntax)")
            #expect(error.description.contains("cookie is written twice"))
        }
    }
}

@Suite struct FilePathsTests {
    @Test func splitsPathsAsTheConfigNeeds() {
        let cases: [(String, String, String)] = [("/etc/sso/sso.yaml", "/etc/sso", "sso.yaml"), ("/sso.yaml", "/", "sso.yaml"),
                                                 ("sso.yaml", "", "sso.yaml"), ("run/sso/", "run", "sso"), ("/", "/", "/"),
                                                 ("a//b", "a", "b")]
        for (path, folder, name) in cases {
            #expect(FilePaths.folder(of: path) == folder, "\(path)")
            #expect(FilePaths.name(of: path) == name, "\(path)")
        }
    }
}
