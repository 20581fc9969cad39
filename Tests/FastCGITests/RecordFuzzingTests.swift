import Testing
@_spi(Fuzzing) import FastCGI

/// The fuzz target's harness drives the real reading path: a request goes through the scanner, libfcgi and the body
/// reader, so a fuzz run that never fails is not one that never reached libfcgi.
@Suite struct RecordFuzzingTests {
    typealias R = RecordScannerTests

    @Test func aWholeRequestIsReadThroughLibfcgi() throws {
        let body = Array("user=alice&password=secret1".utf8)
        let params = R.pair("REQUEST_METHOD", "POST") + R.pair("CONTENT_LENGTH", "\(body.count)") + R.pair("HTTP_COOKIE", "a=1")
            + R.pair("HTTP_COOKIE", "b=2")
        let bytes = R.begin() + R.record(4, params) + R.record(4) + R.record(5, body) + R.record(5)
        // libfcgi adds FCGI_ROLE to the three params sent (the two Cookie lines are one).
        let outcome = try RecordFuzzing.serve(bytes)
        #expect(outcome == .request(params: 4, bodyBytes: body.count, omitted: false), "\(outcome)")
    }

    @Test func theOutcomesShortOfARequest() throws {
        #expect(try RecordFuzzing.serve(Array(R.whole.dropLast(3))) == .waiting)
        #expect(try RecordFuzzing.serve([2] + R.whole.dropFirst()) == .dropped)
        let big = R.pair("HTTP_X", String(repeating: "x", count: 3_000))
        #expect(try RecordFuzzing.serve(R.begin() + R.record(4, big) + R.record(4) + R.record(5)) == .tooLarge)
        // The body over the harness's 512-byte limit is read and omitted; its end is here, so it is never abandoned.
        let long = [UInt8](repeating: 0x41, count: 700)
        let post = R.pair("CONTENT_LENGTH", "700")
        let omitted = try RecordFuzzing.serve(R.begin() + R.record(4, post) + R.record(4) + R.record(5, long) + R.record(5))
        #expect(omitted == .request(params: 2, bodyBytes: 0, omitted: true), "\(omitted)")
    }

    @Test func aBodyCutShortAfterItStartedFlowingIsAbandonedNotTaken() throws {
        let post = R.pair("CONTENT_LENGTH", "5000")
        let partial = R.begin() + R.record(4, post) + R.record(4) + R.record(5, [UInt8](repeating: 0x42, count: 1_200))
        #expect(try RecordFuzzing.serve(partial) == .abandoned)
    }
}

extension RecordFuzzingTests {
    /// Found by an attacker's review: a management record (request id 0) sent after the body started flowing was read by
    /// libfcgi, and GET_VALUES with two lengths past INT_MAX made it abort the process (this test process, before). The
    /// body is now read record by record by `StdinReader`, which gives the request up at the first record that is not
    /// its STDIN. Past the 8 KiB window the scanner never sees it.
    @Test func aManagementRecordInAFlowingBodyAbandonsTheRequest() throws {
        let params = R.pair("REQUEST_METHOD", "POST") + R.pair("CONTENT_LENGTH", "20000")
        var bytes = R.begin() + R.record(4, params) + R.record(4)
        for _ in 0..<9 { bytes += R.record(5, [UInt8](repeating: 0x61, count: 1_000)) }
        bytes += [1, 9, 0, 0, 0, 8, 0, 0, 0xbf, 0xff, 0xff, 0xff, 0xbf, 0xff, 0xff, 0xff] + R.record(5, [0x62]) + R.record(5)
        #expect(try RecordFuzzing.serve(bytes, maxBodyBytes: 65_536) == .abandoned)
        // The same body without it is read whole.
        var clean = R.begin() + R.record(4, params) + R.record(4)
        for _ in 0..<20 { clean += R.record(5, [UInt8](repeating: 0x61, count: 1_000), padding: 3) }
        clean += R.record(5)
        #expect(try RecordFuzzing.serve(clean, maxBodyBytes: 65_536) == .request(params: 3, bodyBytes: 20_000, omitted: false))
    }

    /// Found by the same review: libfcgi forgets the padding of the empty PARAMS record when it turns to the body and
    /// reads those bytes as the next record. No web server pads an empty record: it is dropped unread.
    @Test func paddingOnTheEmptyParamsRecordIsDropped() throws {
        let params = R.pair("REQUEST_METHOD", "POST") + R.pair("CONTENT_LENGTH", "5")
        let bytes = R.begin() + R.record(4, params) + R.record(4, padding: 16) + R.record(5, Array("hello".utf8)) + R.record(5)
        #expect(try RecordFuzzing.serve(bytes) == .dropped)
    }

    /// Found by comparing the reading without libfcgi with libfcgi's: an authorizer's CONTENT_LENGTH (the client's
    /// request's) above the body limit (512 here) made its request say a body was left out, though it has none.
    @Test func anAuthorizerNeverHasABodyLeftOut() throws {
        let params = R.pair("CONTENT_LENGTH", "2000") + R.pair("REQUEST_METHOD", "POST")
        let outcome = try RecordFuzzing.serve(R.begin(role: 2, keep: false) + R.record(4, params) + R.record(4))
        #expect(outcome == .request(params: 3, bodyBytes: 0, omitted: false), "\(outcome)")
    }

    /// Found by the fastcgi-records target: an AUTHORIZER request whose sender added its own `FCGI_ROLE` param was read
    /// as a responder's, waited for a body an authorizer never has, and was abandoned.
    @Test func theRoleIsTheBeginRecordsNotAParams() throws {
        let params = R.pair("FCGI_ROLE", "RESPONDER") + R.pair("CONTENT_LENGTH", "10") + R.pair("REQUEST_METHOD", "GET")
        let bytes = R.begin(role: 2, keep: false) + R.record(4, params) + R.record(4)
        let outcome = try RecordFuzzing.serve(bytes)
        #expect(outcome == .request(params: 3, bodyBytes: 0, omitted: false), "\(outcome)")
    }
}

extension RecordFuzzingTests {
    /// Found by the fastcgi-records target: libfcgi refuses a BEGIN_REQUEST with padding, so the scanner must not pass
    /// one (the worker would log a refusal for a request it judged well formed).
    @Test func aPaddedBeginRecordIsDroppedBeforeLibfcgi() throws {
        var begin = R.begin(role: 2, keep: false)
        begin[6] = 8
        begin += [UInt8](repeating: 0, count: 8)
        #expect(try RecordFuzzing.serve(begin + R.record(4, R.pair("A", "b")) + R.record(4)) == .dropped)
    }
}
