import Foundation
import Testing
@testable import SSOCore
import SSOTesting

/// The audit log's folder belongs to the service user, and root's `ssoctl` appends to the same file: whatever stands
/// at the log's path is written to only when it is a plain file of its own.
@Suite struct AuditLogTests {
    /// This test's folder, removed when it ends.
    let scratch: ScratchFolder

    init() throws {
        scratch = try ScratchFolder("audit")
    }

    func folder() throws -> URL {
        try scratch.subfolder()
    }

    @Test func aPlainFileIsCreatedAndAppendedTo() throws {
        let path = try folder().appendingPathComponent("audit.log").path
        try AuditLog(path: path).record("admin", [("action", "test")], now: 0)
        try AuditLog(path: path).record("admin", [("action", "again")], now: 0)
        #expect(try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").count == 2)
    }

    @Test func aSymbolicLinkIsNotFollowed() throws {
        let dir = try folder()
        let target = dir.appendingPathComponent("root-only").path
        try "secret\n".write(toFile: target, atomically: false, encoding: .utf8)
        let link = dir.appendingPathComponent("audit.log").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        #expect(throws: AdminError.self) { try AuditLog(path: link) }
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "secret\n")
        // A link to a file that does not exist yet is not made into one.
        let dangling = dir.appendingPathComponent("dangling.log").path
        try FileManager.default.createSymbolicLink(atPath: dangling, withDestinationPath: dir.appendingPathComponent("made").path)
        #expect(throws: AdminError.self) { try AuditLog(path: dangling) }
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("made").path))
    }

    @Test func aSecondHardLinkOrAFIFOIsRefused() throws {
        let dir = try folder()
        let other = dir.appendingPathComponent("other").path
        try "x\n".write(toFile: other, atomically: false, encoding: .utf8)
        let link = dir.appendingPathComponent("audit.log").path
        try FileManager.default.linkItem(atPath: other, toPath: link)
        #expect(throws: AdminError.self) { try AuditLog(path: link) }
        let fifo = dir.appendingPathComponent("fifo.log").path
        #expect(mkfifo(fifo, 0o600) == 0)
        #expect(throws: AdminError.self) { try AuditLog(path: fifo) }
    }
}
