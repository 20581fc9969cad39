import Testing
@testable import FastCGI

/// The bytes libfcgi may be handed, and those it may not: whole, well-formed request headers only.
@Suite struct RecordScannerTests {
    static func record(_ type: UInt8, _ content: [UInt8] = [], id: UInt16 = 1, padding: UInt8 = 0) -> [UInt8] {
        [1, type, UInt8(id >> 8), UInt8(id & 0xff), UInt8(content.count >> 8), UInt8(content.count & 0xff), padding, 0]
            + content + [UInt8](repeating: 0, count: Int(padding))
    }

    static func begin(role: UInt8 = 1, keep: Bool = true, id: UInt16 = 1) -> [UInt8] {
        record(1, [0, role, keep ? 1 : 0, 0, 0, 0, 0, 0], id: id)
    }

    static func pair(_ name: String, _ value: String) -> [UInt8] {
        func length(_ n: Int) -> [UInt8] { n < 128 ? [UInt8(n)] : [UInt8(0x80 | (n >> 24)), UInt8((n >> 16) & 0xff), UInt8((n >> 8) & 0xff), UInt8(n & 0xff)] }
        return length(name.utf8.count) + length(value.utf8.count) + Array(name.utf8) + Array(value.utf8)
    }

    static let params = pair("REQUEST_METHOD", "GET") + pair("HTTP_COOKIE", String(repeating: "c", count: 300))
    static let whole = begin() + record(4, params, padding: 3) + record(4) + record(5)

    func scan(_ bytes: [UInt8], _ limits: RecordScanner.Limits = .init()) -> RecordScanner.Scan {
        bytes.withUnsafeBytes { RecordScanner.scan($0, limits: limits) }
    }

    @Test func aWholeRequestIsReadyAndNoPrefixOfItIs() {
        let full = scan(Self.whole)
        #expect(full.verdict == .ready && full.keepConnection && full.bodyComplete && full.role == 1 && full.requestID == 1)
        for cut in 0..<Self.whole.count { #expect(scan(Array(Self.whole[..<cut])).verdict == .needMore, "cut at \(cut)") }
    }

    @Test func lengthsThatAddPastIntMaxAreRefusedBeforeTheirBytesCome() {
        // The 24-byte record that makes libfcgi 2.4.2 abort: name and value lengths of 0x3fffffff each.
        let overflow = Self.begin() + Self.record(4, [0xbf, 0xff, 0xff, 0xff, 0xbf, 0xff, 0xff, 0xff])
        #expect(scan(overflow).verdict == .tooLarge)
        #expect(scan(Self.begin() + Self.record(4, [0xff, 0xff, 0xff, 0xff, 1])).verdict == .tooLarge)
        // Split across records, the total counts.
        var limits = RecordScanner.Limits()
        limits.maxParamBytes = 100
        let split = Self.begin() + Self.record(4, Self.pair("A", String(repeating: "x", count: 60))) + Self.record(4, Self.pair("B", String(repeating: "y", count: 60)))
        #expect(scan(split, limits).verdict == .tooLarge)
    }

    @Test func anythingButTheShapeAWebServerSendsIsMalformed() {
        func malformed(_ bytes: [UInt8]) -> Bool { if case .malformed = scan(bytes).verdict { return true } else { return false } }
        #expect(malformed([2]))                                                    // version 2
        #expect(malformed(Array("GET / HTTP/1.1\r\n".utf8)))                       // not FastCGI
        #expect(malformed(Self.record(4, Self.params)))                            // PARAMS before BEGIN_REQUEST
        #expect(malformed(Self.begin(role: 3)))                                    // FILTER
        #expect(malformed(Self.begin(id: 0)))                                      // a management request id
        #expect(malformed(Self.record(1, [0, 1, 0], id: 1)))                       // BEGIN_REQUEST body not 8 bytes
        #expect(malformed(Self.begin() + Self.record(9)))                          // GET_VALUES inside a request
        #expect(malformed(Self.begin() + Self.record(4, Self.params, id: 2)))      // another request's PARAMS
        #expect(malformed(Self.begin() + Self.record(4, Array(Self.params.dropLast())) + Self.record(4)))  // ends inside a pair
        #expect(malformed(Self.begin() + Self.record(4, Self.params) + Self.record(4) + Self.record(8)))   // DATA
        #expect(malformed(Self.begin() + Self.record(4, Self.params) + Self.record(4) + Self.record(2)))   // ABORT
        let many = Self.begin() + (0..<300).flatMap { _ in Self.record(4, Self.pair("A", "1")) }
        #expect(malformed(many))
    }

    @Test func anAuthorizerIsReadyAtTheEndOfItsParams() {
        #expect(scan(Self.begin(role: 2) + Self.record(4, Self.params) + Self.record(4)).verdict == .ready)
    }

    @Test func aBodyIsWaitedForUntilItIsWholeOrFlowing() {
        let head = Self.begin() + Self.record(4, Self.params) + Self.record(4)
        #expect(scan(head + Self.record(5, [UInt8](repeating: 7, count: 1000))).verdict == .needMore)
        let flowing = head + Self.record(5, [UInt8](repeating: 7, count: 65_000)) + Self.record(5, [UInt8](repeating: 7, count: 1000))
        let s = scan(flowing)
        #expect(s.verdict == .ready && !s.bodyComplete)
        // Part of one large record is enough: its sender may not be able to send the rest before it is read.
        let part = head + Array(Self.record(5, [UInt8](repeating: 7, count: 60_000)).prefix(40_000))
        #expect(scan(part).verdict == .ready)
        #expect(scan(head + Self.record(5, [1, 2, 3]) + Self.record(5)).bodyComplete)
    }
}
