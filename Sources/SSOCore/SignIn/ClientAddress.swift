/// The client address a throttle counts by: an IPv4 address as it is, an IPv6 address by its /64 (one customer's
/// network gets one, so a client cannot step past a limit by changing the low 64 bits).
public enum ClientAddress {
    /// The throttle key of `remote` (`REMOTE_ADDR`); text that is no IP address is used as it is.
    public static func throttleKey(_ remote: String) -> String {
        var text = Substring(remote)
        if let percent = text.firstIndex(of: "%") { text = text[..<percent] }  // zone index: fe80::1%eth0
        guard text.contains(":"), let groups = ipv6Groups(text) else { return remote }
        if groups[0...4].allSatisfy({ $0 == 0 }) && groups[5] == 0xFFFF {  // ::ffff:a.b.c.d is an IPv4 client
            return "\(groups[6] >> 8).\(groups[6] & 0xFF).\(groups[7] >> 8).\(groups[7] & 0xFF)"
        }
        return groups[0..<4].map { String($0, radix: 16) }.joined(separator: ":") + "::/64"
    }

    /// The eight 16-bit groups of an IPv6 address (with `::`, and an IPv4 tail); nil when it is not one.
    static func ipv6Groups(_ text: Substring) -> [UInt16]? {
        var halves: [String] = []
        var rest = text
        while let range = rest.firstRange(of: "::") {
            halves.append(String(rest[..<range.lowerBound]))
            rest = rest[range.upperBound...]
        }
        halves.append(String(rest))
        guard halves.count <= 2 else { return nil }
        func parse(_ part: String) -> [UInt16]? {
            if part.isEmpty { return [] }
            var out: [UInt16] = []
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            for (i, piece) in pieces.enumerated() {
                if i == pieces.count - 1, piece.contains(".") {
                    let octets = piece.split(separator: ".", omittingEmptySubsequences: false).compactMap { UInt8($0) }
                    guard octets.count == 4 else { return nil }
                    out.append(UInt16(octets[0]) << 8 | UInt16(octets[1]))
                    out.append(UInt16(octets[2]) << 8 | UInt16(octets[3]))
                } else {
                    guard (1...4).contains(piece.count), let value = UInt16(piece, radix: 16) else { return nil }
                    out.append(value)
                }
            }
            return out
        }
        guard let head = parse(halves[0]) else { return nil }
        if halves.count == 1 { return head.count == 8 ? head : nil }
        guard let tail = parse(halves[1]), head.count + tail.count < 8 else { return nil }
        return head + [UInt16](repeating: 0, count: 8 - head.count - tail.count) + tail
    }
}
