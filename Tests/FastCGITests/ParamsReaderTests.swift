import Testing
@testable import FastCGI

/// Params as libfcgi hands them over: repeated headers joined as the web server joins them, bytes kept.
@Suite struct ParamsReaderTests {
    /// What libfcgi hands over: NUL-terminated `NAME=VALUE` strings, ended by a null pointer.
    func parse(_ entries: [[UInt8]], role: Int32 = 1) -> FastCGIParams? {
        var envp: [UnsafeMutablePointer<CChar>?] = entries.map { e in
            let p = UnsafeMutablePointer<CChar>.allocate(capacity: e.count + 1)
            for (i, b) in e.enumerated() { p[i] = CChar(bitPattern: b) }
            p[e.count] = 0
            return p
        }
        envp.append(nil)
        defer { for p in envp { p?.deallocate() } }
        return envp.withUnsafeBufferPointer { ParamsReader.read($0.baseAddress!, role: role) }  // copied: the strings may go
    }

    func read(_ entries: [[UInt8]], role: Int32 = 1) -> (values: [String: String], raw: [String: [UInt8]]) {
        let params = parse(entries, role: role)
        return (params?.dictionary ?? [:], params?.rawParams ?? [:])
    }

    @Test func theRecordsRoleWinsOverAnyRoleParamAndTheLimitHolds() {
        let r = read([Array("FCGI_ROLE=RESPONDER".utf8), Array("A=1".utf8), Array("no-equals".utf8)], role: 2)
        #expect(r.values == ["FCGI_ROLE": "AUTHORIZER", "A": "1"])
        let big = [UInt8](repeating: UInt8(ascii: "x"), count: FastCGIExchange.maxParamBytes)
        #expect(read([Array("HTTP_X=".utf8) + big]).values.isEmpty)
    }

    @Test func repeatedCookieLinesAreJoinedInEitherOrder() {
        let first = read([Array("HTTP_COOKIE=__Host-sso=token".utf8), Array("HTTP_COOKIE=theme=dark".utf8)])
        let second = read([Array("HTTP_COOKIE=theme=dark".utf8), Array("HTTP_COOKIE=__Host-sso=token".utf8)])
        for r in [first, second] {
            #expect(HTTPRequest(params: r.values).cookie("__Host-sso") == "token")
            #expect(HTTPRequest(params: r.values).cookie("theme") == "dark")
        }
        #expect(second.values["HTTP_COOKIE"] == "theme=dark; __Host-sso=token")
    }

    @Test func otherRepeatedHeadersAreCommaJoinedAndConfigParamsOverride() {
        let r = read([Array("HTTP_ACCEPT=text/html".utf8), Array("HTTP_ACCEPT=application/json".utf8),
                      Array("HTTP_HOST=a.test".utf8), Array("HTTP_HOST=a.test:8443".utf8),
                      Array("REQUEST_SCHEME=http".utf8), Array("REQUEST_SCHEME=https".utf8)])
        #expect(r.values["HTTP_ACCEPT"] == "text/html, application/json")
        #expect(r.values["HTTP_HOST"] == "a.test:8443")
        #expect(r.values["REQUEST_SCHEME"] == "https")
    }

    @Test func bytesThatAreNotUTF8AreKept() {
        let r = read([Array("CONTENT_TYPE=text/plain; x=".utf8) + [0xff], Array("HTTP_X_A=".utf8) + [0xfe], Array("HTTP_X_A=ok".utf8)])
        #expect(r.raw["CONTENT_TYPE"] == Array("text/plain; x=".utf8) + [0xff])
        #expect(r.values["CONTENT_TYPE"] == "text/plain; x=\u{FFFD}")
        #expect(r.raw["HTTP_X_A"] == [0xfe] + Array(", ok".utf8))
        let request = HTTPRequest(params: r.values, rawParams: r.raw)
        #expect(request.headerFields.first { $0.name == "content-type" }?.value == Array("text/plain; x=".utf8) + [0xff])
    }

    /// The ASCII fast path (eight bytes at a time) agrees with a byte-by-byte check wherever the high bit is, and a
    /// value with one non-ASCII byte anywhere still keeps its exact bytes.
    /// The one-pass view (what a kept request's headers are read from) says what a lookup of each name says, in the
    /// order names first came.
    @Test func everyParamInOnePassReadsAsEachLookup() {
        let entries = [Array("HTTP_COOKIE=a=1".utf8), Array("HTTP_ACCEPT=text/html".utf8), Array("HTTP_HOST=one".utf8),
                       Array("HTTP_COOKIE=b=2".utf8), Array("HTTP_X=\u{1}".utf8) + [0xFF], Array("HTTP_HOST=two".utf8),
                       Array("HTTP_ACCEPT=*/*".utf8), Array("SCRIPT_NAME=/a".utf8), Array("SCRIPT_NAME=/b".utf8)]
        guard let params = parse(entries) else {
            Issue.record("refused"); return
        }
        let all = params.all
        #expect(all.map(\.name) == ["HTTP_COOKIE", "HTTP_ACCEPT", "HTTP_HOST", "HTTP_X", "SCRIPT_NAME", "FCGI_ROLE"])
        for (name, value) in all { #expect(params.rawValue(name) == value, "\(name)") }
        #expect(all.first { $0.name == "HTTP_COOKIE" }?.value == Array("a=1; b=2".utf8))
        #expect(all.first { $0.name == "HTTP_HOST" }?.value == Array("two".utf8))
    }

    @Test func asciiCheckFindsTheHighBitAtEveryPosition() {
        for length in 0...24 {
            let plain = [UInt8](repeating: UInt8(ascii: "a"), count: length)
            #expect(plain.withUnsafeBufferPointer { ParamsReader.isASCII($0) })
            for position in 0..<length {
                var bytes = plain
                bytes[position] = 0xC3
                #expect(!bytes.withUnsafeBufferPointer { ParamsReader.isASCII($0) }, "length \(length), byte \(position)")
                let r = read([Array("HTTP_X=".utf8) + bytes])
                #expect(r.raw["HTTP_X"] == bytes)
            }
        }
    }
}
