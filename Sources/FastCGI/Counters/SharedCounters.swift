import CFastCGI
import Glibc
import Synchronization

/// A fixed array of 64-bit atomic counters in memory shared by every process of one program: the supervisor creates it
/// (a memfd) before it starts any worker, each worker maps the same memory from the descriptor it inherits, so a count
/// made by any worker is seen by all of them and outlives a worker that ends. The runtime knows nothing of what a slot
/// means: the program lays its counters out (`SSOCore`'s `MetricsLayout`).
///
/// Every operation is one relaxed atomic instruction on the mapping (lock-free 64-bit atomics are address-free, so they
/// work across processes); counts wrap at 2^64. A slot outside `0..<count` is ignored (adds) or reads 0, never traps.
public final class SharedCounters: @unchecked Sendable {
    /// Number of slots.
    public let count: Int
    /// The memfd, kept open so it can be handed to worker processes (-1 for an attached region: a worker never passes it on).
    public let fd: Int32
    private let base: UnsafeMutablePointer<Atomic<UInt64>>
    private let bytes: Int

    private init(fd: Int32, count: Int, base: UnsafeMutablePointer<Atomic<UInt64>>, bytes: Int) {
        self.fd = fd
        self.count = count
        self.base = base
        self.bytes = bytes
    }

    deinit {
        munmap(UnsafeMutableRawPointer(base), bytes)
        if fd >= 0 { close(fd) }
    }

    /// A new region of `count` slots, all 0, with its descriptor open (close-on-exec: pass it on with dup2).
    public static func create(count: Int) throws(FastCGIError) -> SharedCounters {
        let fd = sso_fcgi_memfd("sso-counters")
        guard fd >= 0 else { throw FastCGIError("cannot create the shared counters: \(String(cString: strerror(errno)))") }
        let bytes = Self.bytes(for: count)
        guard ftruncate(fd, off_t(bytes)) == 0 else {
            let why = String(cString: strerror(errno))
            close(fd)
            throw FastCGIError("cannot size the shared counters: \(why)")
        }
        do {
            return SharedCounters(fd: fd, count: count, base: try map(fd, bytes: bytes), bytes: bytes)
        } catch {
            close(fd)
            throw error
        }
    }

    /// The region a supervisor handed down as descriptor `fd`, with (at least) `count` slots; the descriptor is closed
    /// once mapped. Throws when it is not a region of that size (a worker then refuses to start).
    public static func attach(fd: Int32, count: Int) throws(FastCGIError) -> SharedCounters {
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, Int(info.st_size) >= Self.bytes(for: count) else {
            throw FastCGIError("descriptor \(fd) is not the supervisor's shared counters")
        }
        let bytes = Self.bytes(for: count)
        return SharedCounters(fd: -1, count: count, base: try map(fd, bytes: bytes), bytes: bytes)
    }

    private static func bytes(for count: Int) -> Int {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let raw = max(1, count) * MemoryLayout<UInt64>.stride
        return (raw + page - 1) / page * page
    }

    private static func map(_ fd: Int32, bytes: Int) throws(FastCGIError) -> UnsafeMutablePointer<Atomic<UInt64>> {
        let address = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
        guard let address, address != MAP_FAILED else {
            throw FastCGIError("cannot map the shared counters: \(String(cString: strerror(errno)))")
        }
        return address.bindMemory(to: Atomic<UInt64>.self, capacity: bytes / MemoryLayout<UInt64>.stride)
    }

    /// Adds `amount` to slot `slot`.
    @inline(__always)
    public func add(_ slot: Int, _ amount: UInt64 = 1) {
        guard slot >= 0 && slot < count else { return }
        base[slot].wrappingAdd(amount, ordering: .relaxed)
    }

    /// Takes `amount` from slot `slot` (a gauge going down); wraps like `add`.
    @inline(__always)
    public func subtract(_ slot: Int, _ amount: UInt64 = 1) {
        guard slot >= 0 && slot < count else { return }
        base[slot].wrappingSubtract(amount, ordering: .relaxed)
    }

    /// Sets slot `slot` to `value` (the supervisor clears a worker's gauge when the worker ends).
    public func store(_ slot: Int, _ value: UInt64) {
        guard slot >= 0 && slot < count else { return }
        base[slot].store(value, ordering: .relaxed)
    }

    /// Slot `slot`'s value now; 0 outside the region.
    public func value(_ slot: Int) -> UInt64 {
        guard slot >= 0 && slot < count else { return 0 }
        return base[slot].load(ordering: .relaxed)
    }
}
