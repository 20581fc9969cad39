import Glibc

/// Starts a POSIX thread running `body`, with its own stack size. The runtime's workers block in libfcgi's accept and
/// read calls, so they are real threads, not tasks.
public enum WorkerThread {
    /// Stack size of a worker thread, in bytes. Default: 1 MiB.
    public static let defaultStackSize = 1 << 20

    private final class Body {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }

    /// Starts `body` on a new detached thread; throws when the system refuses one.
    public static func start(stackSize: Int = defaultStackSize, _ body: @escaping () -> Void) throws(FastCGIError) {
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setstacksize(&attributes, stackSize)
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        let context = Unmanaged.passRetained(Body(body)).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, &attributes, { raw in
            guard let raw else { return nil }
            let body = Unmanaged<Body>.fromOpaque(raw).takeRetainedValue()
            body.run()
            return nil
        }, context)
        guard rc == 0 else {
            Unmanaged<Body>.fromOpaque(context).release()
            throw FastCGIError("cannot start a worker thread: \(String(cString: strerror(rc)))")
        }
    }
}
