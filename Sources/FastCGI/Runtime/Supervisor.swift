import CFastCGI
import Glibc
import Logging

/// The php-fpm model: this process owns the listening socket and runs `processes` worker processes (this same program,
/// started again with the socket as fd 0), replacing any that ends. Whatever a connection's bytes do to a worker, the
/// socket stays open, connections queue on it, and the other workers keep serving.
///
/// Signals: SIGTERM/SIGINT stop (the workers finish what they have, and serve what is queued when the socket is
/// ours); SIGHUP restarts without dropping anything: a new set of workers (of the running program, `/proc/self/exe`, each
/// reading the config afresh; `options` stay as started) starts on the same socket, and only once each says it is
/// serving are the old ones stopped.
public final class Supervisor {
    /// The pause before a worker slot is started again after `failures` quick deaths in a row (each within 5 s of its
    /// start), in nanoseconds: 200 ms after the first, doubling each time, at most 30 s.
    static func restartPause(failures: Int) -> UInt64 {
        min(Monotonic.seconds(30), Monotonic.milliseconds(100) << UInt64(min(9, max(0, failures))))
    }

    /// What the supervisor runs.
    public struct Options: Sendable {
        public var address: ListenAddress
        public var socketMode: Int
        public var socketGroup: UInt32?
        /// Worker processes. Default in config: 1.
        public var processes: Int
        /// The worker's command line after the program path (the supervisor adds `--listen fd:0` and its own flags).
        public var arguments: [String]
        /// Longest wait for the workers after SIGTERM, in seconds (each worker drains its own requests).
        public var drainSeconds: Int
        /// Counters every worker shares (handed down as `WorkerFlag.countersFD`), and the slots of it that count each
        /// worker process's busy threads: one per live worker, cleared when the worker ends (a worker that died while
        /// busy does not stay counted). Needs twice `processes` slots (old and new workers overlap on SIGHUP).
        public var counters: (region: SharedCounters, busySlots: Range<Int>)?

        public init(address: ListenAddress, socketMode: Int, socketGroup: UInt32?, processes: Int, arguments: [String],
                    drainSeconds: Int = 30) {
            self.address = address
            self.socketMode = socketMode
            self.socketGroup = socketGroup
            self.processes = processes
            self.arguments = arguments
            self.drainSeconds = drainSeconds
        }
    }

    /// Hidden flags a worker process is started with.
    public enum WorkerFlag {
        /// `--worker-of <pid>`: the supervisor's pid; the worker stops when it goes.
        public static let supervisor = "--worker-of"
        /// `--drain-queue-on-stop`: the socket is the supervisor's own, so a stopping worker serves what is queued.
        public static let drainQueue = "--drain-queue-on-stop"
        /// The descriptor a worker writes one byte to once it is serving.
        public static let readyFD: Int32 = 3
        /// The descriptor of the shared counters in a worker (`SharedCounters.attach`).
        public static let countersFD: Int32 = 4
        /// `--busy-slot <n>`: the slot of the shared counters where the worker counts its busy threads.
        public static let busySlot = "--busy-slot"
    }

    private struct Worker {
        let pid: pid_t
        let generation: Int
        let slot: Int
        let started: UInt64
        /// Its slot in the shared counters' busy gauges (-1: none).
        let busySlot: Int
    }

    public let options: Options
    let logger: Logger
    private var workers: [pid_t: Worker] = [:]
    /// The generation being served; `lastGeneration` only grows, so a failed restart's workers never count as current.
    private var generation = 1
    private var lastGeneration = 1
    private var stopping = false
    /// Per slot: consecutive quick deaths, and when the slot may start its next worker.
    private var failures: [Int: Int] = [:]
    private var pendingStarts: [Int: UInt64] = [:]
    private var listening = ListeningSocket(fd: -1, owned: false, origin: "")

    public init(options: Options, logger: Logger) {
        self.options = options
        self.logger = logger
    }

    /// Serves until SIGTERM/SIGINT; returns once every worker has ended.
    public func run() throws {
        signal(SIGPIPE, SIG_IGN)
        var signals = sigset_t()
        sigemptyset(&signals)
        for s in [SIGTERM, SIGINT, SIGHUP, SIGCHLD] { sigaddset(&signals, s) }
        pthread_sigmask(SIG_BLOCK, &signals, nil)
        listening = try FastCGIListener.open(options.address, socketMode: options.socketMode, group: options.socketGroup)
        logger.info("supervisor listening", metadata: ["address": "\(options.address)", "socket": "\(listening.origin)",
                                                       "processes": "\(options.processes)", "pid": "\(getpid())"])
        let started = (0..<options.processes).compactMap { start(slot: $0) }
        if !waitReady(started) { logger.error("a worker process did not start; it is started again") }
        while true {
            var info = siginfo_t()
            var timeout = timespec(tv_sec: 0, tv_nsec: 200_000_000)
            let received = sigtimedwait(&signals, &info, &timeout)
            reap()
            if received == SIGTERM || received == SIGINT {
                stop(received)
                return
            }
            if received == SIGHUP { restart() }
            startDue()
        }
    }

    /// Starts a worker for `slot` in the current generation; returns its pid and ready pipe, nil when it cannot.
    private func start(slot: Int) -> (pid_t, Int32)? {
        var pipeFDs: [Int32] = [0, 0]
        guard pipe(&pipeFDs) == 0 else { return nil }
        // Above fd 3, so the child's dup2 to 3 always makes a new, inheritable descriptor.
        let readEnd = fcntl(pipeFDs[0], F_DUPFD_CLOEXEC, 10), writeEnd = fcntl(pipeFDs[1], F_DUPFD_CLOEXEC, 10)
        close(pipeFDs[0]); close(pipeFDs[1])
        defer { close(writeEnd) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, listening.fd, 0)
        posix_spawn_file_actions_adddup2(&actions, writeEnd, WorkerFlag.readyFD)
        let busySlot = freeBusySlot()
        if let counters = options.counters, busySlot >= 0 {
            posix_spawn_file_actions_adddup2(&actions, counters.region.fd, WorkerFlag.countersFD)
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
        let ownSocket = listening.owned
        let argv = ["/proc/self/exe"] + options.arguments + ["--listen", "fd:0", WorkerFlag.supervisor, "\(getpid())"]
            + (ownSocket ? [WorkerFlag.drainQueue] : []) + (busySlot >= 0 ? [WorkerFlag.busySlot, "\(busySlot)"] : [])
        var cArgs = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, "/proc/self/exe", &actions, &attributes, &cArgs, environ)
        guard rc == 0 else {
            logger.error("cannot start a worker process", metadata: ["error": "\(String(cString: strerror(rc)))"])
            close(readEnd)
            return nil
        }
        options.counters?.region.store(busySlot, 0)
        workers[pid] = Worker(pid: pid, generation: generation, slot: slot, started: Monotonic.now(), busySlot: busySlot)
        return (pid, readEnd)
    }

    /// The lowest busy-gauge slot no live worker holds; -1 without shared counters or when all are taken.
    private func freeBusySlot() -> Int {
        guard let counters = options.counters else { return -1 }
        let taken = Set(workers.values.map(\.busySlot))
        return counters.busySlots.first { !taken.contains($0) } ?? -1
    }

    /// Waits until each started worker says it is serving (or ends, or 30 s pass); closes the pipes. True when all did.
    private func waitReady(_ started: [(pid_t, Int32)]) -> Bool {
        var allReady = true
        let deadline = Monotonic.now() + Monotonic.seconds(30)
        for (pid, fd) in started {
            var ready = false
            while Monotonic.now() < deadline {
                var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                let left = Int32((deadline - min(deadline, Monotonic.now())) / 1_000_000)
                if poll(&p, 1, max(1, left)) > 0 {
                    var byte: UInt8 = 0
                    ready = read(fd, &byte, 1) == 1
                    break
                }
            }
            close(fd)
            if !ready {
                allReady = false
                logger.error("worker process did not start serving", metadata: ["pid": "\(pid)"])
            }
        }
        return allReady
    }

    /// Collects ended workers; a worker of the current generation that ended is replaced (after a pause that grows
    /// while they keep ending within seconds of starting).
    private func reap() {
        while true {
            var status: Int32 = 0
            let pid = waitpid(-1, &status, WNOHANG)
            guard pid > 0 else { return }
            guard let worker = workers.removeValue(forKey: pid) else { continue }
            // Whatever it was doing when it ended, it is busy no more.
            options.counters?.region.store(worker.busySlot, 0)
            let signaled = status & 0x7f != 0
            let how = signaled ? "signal \(status & 0x7f)" : "exit code \((status >> 8) & 0xff)"
            guard worker.generation == generation && !stopping else {
                logger.info("worker process ended", metadata: ["pid": "\(pid)", "status": "\(how)"])
                continue
            }
            let lived = Monotonic.now() - worker.started
            let quick = lived < Monotonic.seconds(5)
            failures[worker.slot] = quick ? (failures[worker.slot] ?? 0) + 1 : 0
            let pause = quick ? Self.restartPause(failures: failures[worker.slot] ?? 0) : 0
            pendingStarts[worker.slot] = Monotonic.now() + pause
            logger.error("worker process ended; starting another", metadata: [
                "pid": "\(pid)", "status": "\(how)", "after_ms": "\(pause / 1_000_000)"])
        }
    }

    private func startDue() {
        let now = Monotonic.now()
        for (slot, at) in pendingStarts where at <= now {
            pendingStarts[slot] = nil
            if let started = start(slot: slot) { _ = waitReady([started]) }
        }
    }

    /// A new generation of workers on the same socket; the old one is stopped once every new worker serves.
    private func restart() {
        let old = workers.values.filter { $0.generation == generation }.map(\.pid)
        let previous = generation
        lastGeneration += 1
        generation = lastGeneration
        pendingStarts = [:]
        failures = [:]
        logger.info("restarting worker processes", metadata: ["old": "\(old.map(String.init).joined(separator: ","))"])
        let started = (0..<options.processes).compactMap { start(slot: $0) }
        if started.count == options.processes && waitReady(started) {
            for pid in old { kill(pid, SIGTERM) }
            logger.info("restarted", metadata: ["new": "\(started.map { String($0.0) }.joined(separator: ","))"])
        } else {
            // The old workers keep serving; the new ones that did start are stopped again (with their ready pipes
            // closed: `waitReady` closes them, and was not called when not all of them started).
            if started.count != options.processes { for (_, fd) in started { close(fd) } }
            for (pid, _) in started { kill(pid, SIGTERM) }
            generation = previous
            logger.error("restart failed: the new worker processes did not start; the old ones keep serving")
        }
    }

    private func stop(_ signal: Int32) {
        stopping = true
        logger.info("stopping", metadata: ["signal": "\(signal == SIGTERM ? "SIGTERM" : "SIGINT")"])
        // No new connection can queue on a unix socket once its path is gone; those queued are served by the workers.
        // A socket systemd holds keeps its path and its queue: the next start serves it.
        if listening.owned, case .unix(let path) = options.address { unlink(path) }
        for pid in workers.keys { kill(pid, SIGTERM) }
        let deadline = Monotonic.now() + Monotonic.seconds(options.drainSeconds + 5)
        while !workers.isEmpty && Monotonic.now() < deadline {
            reap()
            if !workers.isEmpty { usleep(20_000) }
        }
        for pid in workers.keys { kill(pid, SIGKILL) }
        while waitpid(-1, nil, 0) > 0 {}
        close(listening.fd)
        logger.info("stopped")
    }
}
