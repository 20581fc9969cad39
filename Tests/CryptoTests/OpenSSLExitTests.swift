import Glibc
import Testing
@testable import SSOCrypto

/// A program's main thread returns (a stop) while other threads may still be inside OpenSSL: the users-file watcher
/// making a decoy hash, a worker verifying a token. By default OpenSSL frees its locks and random generator in an
/// `atexit` handler under them, and the process ends with SIGSEGV instead of exit 0 (AccountsFCGI under AddressSanitizer,
/// at a SIGTERM during a users-file reload). Each run is a process of its own that exits while three threads draw
/// random bytes; before the fix about one in eight crashed.
@Suite struct OpenSSLExitTests {
    @Test func exitWhileOtherThreadsUseOpenSSLIsAClean0() async {
        for _ in 0..<24 {
            await #expect(processExitsWith: .success) {
                OpenSSLLifetime.keepStateUntilExit()
                for _ in 0..<3 {
                    var thread = pthread_t()
                    pthread_create(&thread, nil, { _ in
                        while true { _ = try? SecureRandom.bytes(32) }
                    }, nil)
                }
                usleep(20_000)
                exit(0)
            }
        }
    }
}
