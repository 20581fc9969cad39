import ArgumentParser
import SSOCommand
import SSOCore

/// `ssoctl generate …`: the web-server lines whose values the config decides, so a port, socket or cookie name is
/// written in one place (the config) and copied by a command, never by hand.
struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print web-server config derived from sso.yaml.",
        subcommands: [ApacheDefines.self, NginxHTTP.self])

    struct ApacheDefines: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "apache-defines",
            abstract: "Apache `Define` lines for the snippets in apache/ (save as /etc/apache2/sso/sso-defines.conf).")

        @Option(help: "The config file.") var config = "/etc/sso/sso.yaml"

        func run() throws {
            let cfg = try ServerCommand.loadConfig(config)
            print(try ServerCommand.orExit { () throws(WebServerConfigError) in try WebServerConfig.apacheDefines(cfg, source: config) },
                  terminator: "")
        }
    }

    struct NginxHTTP: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "nginx-http",
            abstract: "nginx upstreams and cookie maps for the snippets in nginx/ (save as /etc/nginx/sso/sso-http.conf).")

        @Option(help: "The config file.") var config = "/etc/sso/sso.yaml"

        func run() throws {
            let cfg = try ServerCommand.loadConfig(config)
            print(WebServerConfig.nginxHTTP(cfg, source: config), terminator: "")
        }
    }
}
