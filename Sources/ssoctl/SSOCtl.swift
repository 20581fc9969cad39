import ArgumentParser
import SSOCommand

/// The admin command: what an operator runs against the same config as the two programs.
@main
struct SSOCtl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ssoctl",
        abstract: "Administer the SSO: web-server snippets generated from the config, checks.",
        subcommands: [Generate.self])
}
