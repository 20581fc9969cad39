import Glibc
import Testing
@testable import FastCGI

/// The memory the supervisor shares with its worker processes: counts add up exactly under concurrency, a second
/// mapping of the same descriptor (what a worker makes) sees and changes the same counts, another process writing it is
/// seen here, and a descriptor that is not such a region is refused, never mapped.
@Suite struct SharedCountersTests {
    @Test func addSubtractStoreAndOutOfRange() throws {
        let c = try SharedCounters.create(count: 8)
        #expect((0..<8).allSatisfy { c.value($0) == 0 })
        c.add(3)
        c.add(3, 41)
        c.subtract(3, 2)
        #expect(c.value(3) == 40)
        c.store(3, 7)
        #expect(c.value(3) == 7)
        // Outside the region: ignored, reads 0, never traps.
        c.add(8); c.add(-1); c.subtract(100); c.store(9, 1)
        #expect(c.value(8) == 0 && c.value(-1) == 0)
        // A gauge taken below zero wraps, and comes back.
        c.subtract(0)
        c.add(0)
        #expect(c.value(0) == 0)
    }

    @Test func concurrentAddsLoseNothing() throws {
        let c = try SharedCounters.create(count: 4)
        let threads = 4, perThread = 100_000
        var ids: [pthread_t] = []
        final class Box: @unchecked Sendable { let c: SharedCounters; let n: Int; init(_ c: SharedCounters, _ n: Int) { self.c = c; self.n = n } }
        for _ in 0..<threads {
            var id = pthread_t()
            let box = Unmanaged.passRetained(Box(c, perThread)).toOpaque()
            #expect(pthread_create(&id, nil, { raw in
                let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
                for _ in 0..<box.n { box.c.add(2) }
                return nil
            }, box) == 0)
            ids.append(id)
        }
        for id in ids { pthread_join(id, nil) }
        #expect(c.value(2) == UInt64(threads * perThread))
    }

    @Test func aSecondMappingOfTheDescriptorSharesTheCounts() throws {
        let supervisor = try SharedCounters.create(count: 16)
        let worker = try SharedCounters.attach(fd: dup(supervisor.fd), count: 16)
        worker.add(5, 3)
        supervisor.add(5, 4)
        #expect(worker.value(5) == 7 && supervisor.value(5) == 7)
        #expect(worker.fd == -1)  // a worker never hands the region on
    }

    @Test func anotherProcessWritingTheRegionIsSeenHere() throws {
        let c = try SharedCounters.create(count: 16)
        c.add(2, 10)
        // A child process (python3 here, as any process that inherits the descriptor) adds 5 to slot 2 in its own mapping.
        let script = "import mmap,struct; m=mmap.mmap(3, 4096); v=struct.unpack_from('<Q', m, 16)[0]; struct.pack_into('<Q', m, 16, v+5)"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, c.fd, 3)
        let argv = ["/usr/bin/python3", "-c", script]
        var cArgs = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        var pid: pid_t = 0
        try #require(posix_spawn(&pid, "/usr/bin/python3", &actions, nil, &cArgs, environ) == 0)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        #expect(status == 0)
        #expect(c.value(2) == 15)
    }

    @Test func aDescriptorThatIsNotARegionIsRefused() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        close(fds[1])
        #expect(throws: FastCGIError.self) { try SharedCounters.attach(fd: fds[0], count: 4) }
        let small = try SharedCounters.create(count: 4)
        // Asking for more slots than the region holds is refused (a worker of another build of the program).
        #expect(throws: FastCGIError.self) { try SharedCounters.attach(fd: dup(small.fd), count: 100_000) }
        #expect(throws: FastCGIError.self) { try SharedCounters.attach(fd: -1, count: 4) }
    }
}
