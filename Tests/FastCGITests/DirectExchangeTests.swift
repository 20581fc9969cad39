import CFastCGI
import Glibc
import Testing
@_spi(Fuzzing) @testable import FastCGI

/// A whole request without a body is read and answered without libfcgi: the same params libfcgi reads, and the same
/// bytes back as libfcgi writes.
@Suite struct DirectExchangeTests {
    typealias R = RecordScannerTests

    func direct(_ bytes: [UInt8]) -> FastCGIParams? {
        bytes.withUnsafeBytes { DirectExchange.params($0, scan: RecordScanner.scan($0)) }
    }

    /// What libfcgi's `envp` makes of odd pairs: a NUL ends the entry, the first `=` ends the name (so a name holding
    /// `=` moves its tail into the value), an entry whose NUL comes before any `=` is left out; a pair split across two
    /// PARAMS records and a four-byte length. `RecordFuzzing.serve` throws when the two readings differ.
    @Test func oddPairsReadAsLibfcgiReadsThem() throws {
        func raw(_ name: [UInt8], _ value: [UInt8]) -> [UInt8] {
            [UInt8(name.count), UInt8(value.count)] + name + value
        }
        let pairs = R.pair("REQUEST_METHOD", "GET") + raw(Array("HTTP_X_A".utf8), [0x61, 0, 0x62])
            + raw(Array("NAME=PART".utf8), Array("value".utf8)) + raw([0x4e, 0, 0x3d], Array("gone".utf8))
            + R.pair("HTTP_COOKIE", String(repeating: "c", count: 200)) + raw([], [])
        let split = pairs.count / 2
        for role: UInt8 in [1, 2] {
            let bytes = R.begin(role: role) + R.record(4, Array(pairs[..<split]), padding: 5) + R.record(4, Array(pairs[split...]))
                + R.record(4) + (role == 1 ? R.record(5) : [])
            let params = try #require(direct(bytes))
            #expect(params["HTTP_X_A"] == "a")
            #expect(params["NAME"] == "PART=value")
            #expect(params["HTTP_COOKIE"]?.count == 200)
            #expect(params["FCGI_ROLE"] == (role == 2 ? "AUTHORIZER" : "RESPONDER"))
            #expect(params.names.count == 6, "\(params.names)")
            if case .request = try RecordFuzzing.serve(bytes) {} else { Issue.record("libfcgi did not read it") }
        }
    }

    /// Only a request with no body is read here; one with a body, a declared length, a body still coming, or params
    /// past the limit goes to libfcgi.
    @Test func whatGoesToLibfcgiInstead() {
        let get = R.pair("REQUEST_METHOD", "GET")
        #expect(direct(R.begin() + R.record(4, get) + R.record(4) + R.record(5)) != nil)
        #expect(direct(R.begin() + R.record(4, get) + R.record(4) + R.record(5, [1, 2]) + R.record(5)) == nil)
        #expect(direct(R.begin() + R.record(4, get + R.pair("CONTENT_LENGTH", "2")) + R.record(4) + R.record(5)) == nil)
        #expect(direct(R.begin() + R.record(4, get + R.pair("HTTP_TRANSFER_ENCODING", "chunked")) + R.record(4) + R.record(5)) == nil)
        #expect(direct(R.begin() + R.record(4, get) + R.record(4)) == nil)
        // An authorizer's CONTENT_LENGTH is the client's request's: it has no body of its own.
        #expect(direct(R.begin(role: 2) + R.record(4, get + R.pair("CONTENT_LENGTH", "2")) + R.record(4)) != nil)
        let big = (0..<10).map { R.pair("HTTP_X_\($0)", String(repeating: "v", count: 6_600)) }
        var records: [UInt8] = []
        for p in big { records += R.record(4, p) }
        #expect(direct(R.begin() + records + R.record(4) + R.record(5)) == nil)
    }

    /// The answer's bytes are libfcgi's: the same records, padding and END_REQUEST, for a short answer and for one
    /// longer than libfcgi's 8 KiB buffer (there it writes more, smaller records: the stream they carry is the same).
    @Test func theAnswerIsWhatLibfcgiWrites() throws {
        for size in [0, 5, 300, 20_000] {
            var response = HTTPResponse.text(.ok, String(repeating: "x", count: size))
            response.headers[.init("X-SSO-User")!] = "alice"
            let ours = DirectExchange.records(FastCGIExchange.cgiBytes(response), requestID: 7)
            let theirs = try libfcgiAnswer(response, requestID: 7)
            if size < 8_000 { #expect(ours == theirs, "size \(size)") }
            #expect(try stream(ours) == stream(theirs), "size \(size)")
        }
    }

    /// The one-buffer framing gives the same bytes as the CGI text framed record by record: every padding (body sizes
    /// 0–15 around the header), one record's limit, and past it (two records).
    @Test func theOneBufferAnswerIsTheRecordsOfTheCGIText() {
        let sizes = Array(0..<16) + [1_000, 65_000, 65_528 - 64, 65_528, 70_000, 200_000]
        for size in sizes {
            var response = HTTPResponse(status: .ok, body: Array(repeating: UInt8(ascii: "y"), count: size))
            response.headers[.init("X-Remote-User")!] = "alice"
            for id: UInt16 in [1, 0x1234] {
                #expect(DirectExchange.answer(response, requestID: id)
                        == DirectExchange.records(FastCGIExchange.cgiBytes(response), requestID: id), "size \(size)")
            }
        }
    }

    /// The CGI text: status line with its reason, fields in order, the length when none was given, blank line, body.
    @Test func theCGITextIsExact() {
        var response = HTTPResponse.empty(.unauthorized)
        response.headers[.init("X-Accel-Expires")!] = "0"
        #expect(String(decoding: FastCGIExchange.cgiBytes(response), as: UTF8.self)
                == "Status: 401 Unauthorized\r\nX-Accel-Expires: 0\r\nContent-Length: 0\r\n\r\n")
        let text = HTTPResponse.text(.init(code: 299, reasonPhrase: ""), String(repeating: "z", count: 1_234_567))
        let bytes = FastCGIExchange.cgiBytes(text)
        #expect(bytes.starts(with: "Status: 299\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 1234567\r\n\r\nzz".utf8))
        var explicit = HTTPResponse(status: .notModified)
        explicit.headers[.init("ETag")!] = "\"1\""
        #expect(String(decoding: FastCGIExchange.cgiBytes(explicit), as: UTF8.self) == "Status: 304 Not Modified\r\nETag: \"1\"\r\n\r\n")
    }

    /// The STDOUT content and the END_REQUEST body of an answer, checking each record's header.
    func stream(_ bytes: [UInt8]) throws -> ([UInt8], [UInt8]) {
        var at = 0
        var content: [UInt8] = []
        while at + 8 <= bytes.count {
            let type = bytes[at + 1], length = Int(bytes[at + 4]) << 8 | Int(bytes[at + 5]), padding = Int(bytes[at + 6])
            let body = Array(bytes[(at + 8)..<(at + 8 + length)])
            at += 8 + length + padding
            if type == 3 { return (content, body) }
            try #require(type == 6)
            content += body
        }
        Issue.record("no END_REQUEST")
        return (content, [])
    }

    /// What libfcgi writes for `response` after reading a bodiless request with id `requestID` over a socket pair.
    func libfcgiAnswer(_ response: HTTPResponse, requestID: UInt16) throws -> [UInt8] {
        try #require(FCGX_Init() == 0)
        var pair: [Int32] = [-1, -1]
        try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0)
        defer { close(pair[0]); close(pair[1]) }
        let request = R.begin(id: requestID) + R.record(4, R.pair("REQUEST_METHOD", "GET"), id: requestID)
            + R.record(4, id: requestID) + R.record(5, id: requestID)
        #expect(request.withUnsafeBytes { send(pair[1], $0.baseAddress, $0.count, 0) } == request.count)
        let fcgx = UnsafeMutablePointer<FCGX_Request>.allocate(capacity: 1)
        defer { fcgx.deallocate() }
        FCGX_InitRequest(fcgx, -1, 0)
        fcgx.pointee.ipcFd = pair[0]
        fcgx.pointee.keepConnection = 1
        try #require(FCGX_Accept_r(fcgx) == 0)
        FastCGIExchange.write(response, to: fcgx)
        FCGX_FClose(fcgx.pointee.err)
        FCGX_FClose(fcgx.pointee.out)
        fcgx.pointee.ipcFd = -1
        FCGX_Finish_r(fcgx)
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(pair[1], $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n <= 0 { break }
            out += chunk[..<n]
        }
        return out
    }
}
