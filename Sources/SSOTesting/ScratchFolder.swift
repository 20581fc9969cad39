import Foundation

/// A folder of its own under the system's temporary directory (`/tmp/<prefix>-<UUID>`), removed with everything in it
/// when the last reference to it goes: a test (or its suite instance, one per test) holds it, so a run leaves nothing
/// behind, failed tests included.
public final class ScratchFolder: Sendable {
    public let url: URL

    /// Creates the folder; `prefix` names what it is for (`admin`, `cfg`), so a folder left by a killed run says whose.
    public init(_ prefix: String) throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// A new, empty folder inside this one (for a test that needs several).
    public func subfolder() throws -> URL {
        let folder = url.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    deinit {
        try? FileManager.default.removeItem(at: url)
    }
}
