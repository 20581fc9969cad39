import ArgumentParser
import Foundation
import SSOCore

/// `ssoctl users add | passwd | disable | enable | list`: edits the users file in place (comments and order kept,
/// checked before it lands, written atomically); the accounts host picks the change up within `users_reload_interval`,
/// and a new password or a disabled user ends that user's sessions then.
struct Users: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage the users file.",
        subcommands: [List.self, Add.self, Passwd.self, Disable.self, Enable.self])

    static func admin(_ options: CtlOptions) throws -> (UsersAdmin, SSOConfig) {
        let cfg = try options.loadConfig()
        return (UsersAdmin(path: cfg.usersFile, registry: cfg.registry), cfg)
    }

    /// A password from standard input: the first line (a prompt without echo when it is a terminal).
    static func readPassword(confirm: Bool) -> String {
        let interactive = isatty(0) == 1
        func read(_ prompt: String) -> String {
            if interactive {
                FileHandle.standardError.write(Data(prompt.utf8))
                var old = termios()
                tcgetattr(0, &old)
                var silent = old
                silent.c_lflag &= ~tcflag_t(ECHO)
                tcsetattr(0, TCSANOW, &silent)
                defer { tcsetattr(0, TCSANOW, &old); FileHandle.standardError.write(Data("\n".utf8)) }
                return readLine(strippingNewline: true) ?? ""
            }
            return readLine(strippingNewline: true) ?? ""
        }
        let password = read("New password: ")
        guard !password.isEmpty else { fail("no password given (one line on standard input)") }
        if interactive && confirm && read("Again: ") != password { fail("the two passwords differ") }
        return password
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the users: name, display name, e-mail, services, disabled.")
        @OptionGroup var options: CtlOptions

        func run() throws {
            let (admin, _) = try Users.admin(options)
            let users: [User]
            do { users = try admin.list() } catch { FileHandle.standardError.write(Data("\(error)\n".utf8)); throw ExitCode(2) }
            options.output(users.map { "\($0.username)\t\($0.name)\t\($0.email)\t\($0.services.joined(separator: ","))\($0.disabled ? "\tdisabled" : "")" }
                .joined(separator: "\n"),
                           json: users.map { ["username": $0.username, "name": $0.name, "email": $0.email, "services": $0.services,
                                              "disabled": $0.disabled] as [String: Any] })
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a user; the password is read from standard input.")
        @OptionGroup var options: CtlOptions
        @Argument(help: "The user name.") var username: String
        @Option(help: "Display name.") var name: String?
        @Option(help: "E-mail address.") var email: String?
        @Option(parsing: .upToNextOption, help: "Services the user may use (registry names).") var services: [String] = []

        func run() throws {
            let (admin, cfg) = try Users.admin(options)
            let password = Users.readPassword(confirm: true)
            do { try admin.add(username: username, password: password, name: name, email: email, services: services) } catch { fail("\(error)") }
            options.audit(cfg).record("admin", [("action", "users add"), ("operator", operatorName()), ("user", username)], now: currentTime())
            options.output("added \(username)", json: ["added": username])
        }
    }

    struct Passwd: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set a user's password (read from standard input); their sessions end at the next reload.")
        @OptionGroup var options: CtlOptions
        @Argument(help: "The user name.") var username: String

        func run() throws {
            let (admin, cfg) = try Users.admin(options)
            let password = Users.readPassword(confirm: true)
            do { try admin.setPassword(username: username, password: password) } catch { fail("\(error)") }
            options.audit(cfg).record("admin", [("action", "users passwd"), ("operator", operatorName()), ("user", username)], now: currentTime())
            options.output("password of \(username) set; their sessions end within \(cfg.usersReloadInterval) s", json: ["user": username])
        }
    }

    struct Disable: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Disable a user: no sign-in; their sessions end at the next reload.")
        @OptionGroup var options: CtlOptions
        @Argument(help: "The user name.") var username: String

        func run() throws {
            let (admin, cfg) = try Users.admin(options)
            do { try admin.setDisabled(username: username, true) } catch { fail("\(error)") }
            options.audit(cfg).record("admin", [("action", "users disable"), ("operator", operatorName()), ("user", username)], now: currentTime())
            options.output("disabled \(username); their sessions end within \(cfg.usersReloadInterval) s", json: ["disabled": username])
        }
    }

    struct Enable: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Enable a disabled user again.")
        @OptionGroup var options: CtlOptions
        @Argument(help: "The user name.") var username: String

        func run() throws {
            let (admin, cfg) = try Users.admin(options)
            do { try admin.setDisabled(username: username, false) } catch { fail("\(error)") }
            options.audit(cfg).record("admin", [("action", "users enable"), ("operator", operatorName()), ("user", username)], now: currentTime())
            options.output("enabled \(username)", json: ["enabled": username])
        }
    }
}
