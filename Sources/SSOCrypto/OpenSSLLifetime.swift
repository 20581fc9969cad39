import COpenSSL

/// When OpenSSL's global state (its locks, the random generator) is freed.
public enum OpenSSLLifetime {
    /// Keeps OpenSSL's global state until the process is gone, instead of freeing it in an `atexit` handler: a program
    /// whose other threads can still be inside OpenSSL when its main thread returns then exits 0 rather than crashing
    /// under them. Call first thing in `main`, before any other OpenSSL call (OpenSSL registers the handler on its first
    /// initialisation). Later calls change nothing.
    public static func keepStateUntilExit() {
        _ = OPENSSL_init_crypto(UInt64(OPENSSL_INIT_NO_ATEXIT), nil)
    }
}
