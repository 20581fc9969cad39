import Testing
@testable import FastCGI

/// sd_listen_fds(3)'s rules: the sockets are for the process LISTEN_PID names, LISTEN_FDS counts them.
@Suite struct SystemdSocketTests {
    @Test func socketsAreOnlyForTheProcessNamed() {
        #expect(SystemdSocket.passedCount(listenPID: "4242", listenFDs: "1", pid: 4242) == 1)
        #expect(SystemdSocket.passedCount(listenPID: "4242", listenFDs: "2", pid: 4242) == 2)
        // A worker process started by the supervisor inherits the environment but has another pid.
        #expect(SystemdSocket.passedCount(listenPID: "4242", listenFDs: "1", pid: 4243) == 0)
        #expect(SystemdSocket.passedCount(listenPID: nil, listenFDs: "1", pid: 4242) == 0)
        #expect(SystemdSocket.passedCount(listenPID: "4242", listenFDs: nil, pid: 4242) == 0)
        #expect(SystemdSocket.passedCount(listenPID: "4242", listenFDs: "0", pid: 4242) == 0)
        #expect(SystemdSocket.passedCount(listenPID: "x", listenFDs: "1", pid: 4242) == 0)
        #expect(SystemdSocket.passedCount(listenPID: "4242", listenFDs: "-1", pid: 4242) == 0)
    }

    @Test func aPassedSocketServesOnlyItsOwnAddress() {
        let unix = SystemdSocket.Bound.unix("/run/sso/appauth.sock")
        #expect(unix.serves(.unix("/run/sso/appauth.sock")))
        #expect(!unix.serves(.unix("/run/sso/accounts.sock")))
        #expect(!unix.serves(.tcp(host: "127.0.0.1", port: 9001)))
        let tcp = SystemdSocket.Bound.tcp(port: 9001)
        #expect(tcp.serves(.tcp(host: "127.0.0.1", port: 9001)))
        #expect(!tcp.serves(.tcp(host: "127.0.0.1", port: 9002)))
        #expect(!tcp.serves(.inherited))
    }
}
