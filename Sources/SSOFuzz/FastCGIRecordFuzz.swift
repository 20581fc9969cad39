@_spi(Fuzzing) import FastCGI

/// The bytes a local process or a web server sends a FastCGI socket: record headers, name-value pairs, the body.
/// Whatever `RecordScanner` lets through must be accepted and read to its end by libfcgi without an abort, and a
/// request whose every byte arrived is never abandoned (`RecordFuzzing.serve` checks both). The body limit is 512
/// bytes for an input of even length and 16,384 (more than any input) for an odd one: a flowing body is then kept,
/// and compared byte for byte with libfcgi's reading of the same records.
enum FastCGIRecordFuzz {
    static let target = FuzzTarget(
        name: "fastcgi-records",
        covers: "RecordScanner.scan (small limits), libfcgi FCGX_Accept_r params reading, FastCGIExchange.read, ParamsReader, RequestRoute, DirectExchange.params and StdinReader (both against libfcgi)",
        maxLength: RecordFuzzing.maxInputBytes,
        dictionary: ["CONTENT_LENGTH", "HTTP_COOKIE", "HTTP_HOST", "HTTP_TRANSFER_ENCODING", "FCGI_ROLE", "AUTHORIZER",
                     "REQUEST_METHOD", "POST", "1048576", "-1", "99999999999999999999"],
        binaryWords: [
            [1, 1, 0, 1, 0, 8, 0, 0],  // BEGIN_REQUEST, id 1, 8 bytes
            [0, 1, 1, 0, 0, 0, 0, 0],  // its body: RESPONDER, keep the connection
            [0, 2, 0, 0, 0, 0, 0, 0],  // AUTHORIZER, close
            [1, 4, 0, 1, 0, 0, 0, 0],  // the empty PARAMS record
            [1, 5, 0, 1, 0, 0, 0, 0],  // the empty STDIN record
            [1, 4, 0, 1, 0xFF, 0xF8, 0, 0],  // a full PARAMS record
            [0x80, 0, 0, 0], [0xFF, 0xFF, 0xFF, 0xFF], [0x7F, 0xFF, 0xFF, 0xFF],  // four-byte lengths
        ],
        run: { bytes in
            do { _ = try RecordFuzzing.serve(bytes, maxBodyBytes: bytes.count % 2 == 0 ? 512 : 16_384) } catch { FuzzCheck.fail("\(error)") }
        })
}
