import ArgumentParser
import Foundation
import SSOCommand

/// The admin command: what an operator runs against the same config as the two programs.
@main
struct SSOCtl: ParsableCommand {
    /// Runs the command; a usage mistake exits 2 like a config problem (ArgumentParser's own code for it is 64).
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }

    static let configuration = CommandConfiguration(
        commandName: "ssoctl",
        abstract: "Administer the SSO against the same config as AccountsFCGI and AppAuthFCGI.",
        discussion: "Exit codes: 0 done; 1 the operation failed (the store cannot be reached, nothing matched, a file cannot be written); 2 a usage or config problem. --json prints JSON for scripts.",
        version: SSOVersion.current,
        subcommands: [Check.self, Sessions.self, Users.self, Keys.self, Generate.self])
}
