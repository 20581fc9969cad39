import Testing
@testable import SSOCrypto

@Suite struct Base64URLTests {
    @Test func base64urlIsStrict() {
        #expect(Base64URL.decode("") == [])
        #expect(Base64URL.decode("QQ") == Array("A".utf8))
        #expect(Base64URL.decode("QR") == nil)            // non-zero trailing bits
        #expect(Base64URL.decode("QQ==") == nil)          // padding
        #expect(Base64URL.decode("Q") == nil)             // impossible length
        #expect(Base64URL.decode("a+b/") == nil)          // standard alphabet
        #expect(Base64URL.decode("a b") == nil)
        #expect(Base64URL.decode([0xFF, 0xFE]) == nil)    // non-ASCII bytes
        for n in 0..<40 {
            let bytes = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            #expect(Base64URL.decode(Base64URL.encode(bytes)) == bytes)
        }
    }
}
