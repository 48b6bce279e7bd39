import ArgumentParser
import Foundation
import RarangiClient

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Hold a registration for exactly as long as a command runs.",
        discussion: """
        Registers SERVICE (held), starts CMD, forwards SIGTERM and SIGINT to it,
        deregisters when it exits, and exits with its status (128+N when signal N
        killed it). When no daemon can be reached the command starts anyway and
        the registration is retried with back-off; a daemon of another
        environment is an error and the command is not started. The command
        inherits standard input, output and error only. If rarangi itself is
        killed, the registration ends at once (its connection closes) and the
        command keeps running, in rarangi's process group, unless
        --death-signal names a signal the kernel then sends it.
        """)

    @OptionGroup var common: Common
    @Argument(help: "The service.") var service: String
    @Option(help: "The port the command serves on.") var port: Int
    @Option(help: "The host the command serves on (default: this host's name).") var host: String?
    @Option(help: "The instance id (default: HOSTNAME-PORT).") var id: String?
    @Option(help: ArgumentHelp("Extra metadata; repeatable.", valueName: "KEY=VALUE")) var meta: [String] = []
    @Option(name: .customLong("death-signal"),
            help: ArgumentHelp("Have the kernel send this signal to the command if rarangi dies (TERM, INT, HUP, KILL or a number).",
                               valueName: "SIGNAL"))
    var deathSignal: String?
    @Argument(parsing: .postTerminator, help: "The command and its arguments, after --.") var command: [String] = []

    func validate() throws {
        if command.isEmpty { throw ValidationError("give the command to run after --") }
        if let deathSignal, Run.signalNumber(deathSignal) == nil {
            throw ValidationError("--death-signal takes TERM, INT, HUP, KILL or a signal number from 1 to 64")
        }
    }

    static func signalNumber(_ s: String) -> Int32? {
        let names: [String: Int32] = ["TERM": SIGTERM, "INT": SIGINT, "HUP": SIGHUP, "KILL": SIGKILL, "QUIT": SIGQUIT, "USR1": SIGUSR1, "USR2": SIGUSR2]
        let key = s.uppercased().hasPrefix("SIG") ? String(s.uppercased().dropFirst(3)) : s.uppercased()
        if let n = names[key] { return n }
        if let n = Int32(s), (1...64).contains(n) { return n }
        return nil
    }

    func run() async throws {
        // gethostname(2), not ProcessInfo.hostName, which may wait on DNS.
        var buf = [CChar](repeating: 0, count: 256)
        gethostname(&buf, buf.count)
        let hostName = String(cString: buf).split(separator: ".").first.map(String.init) ?? "localhost"
        let instanceID = id ?? "\(hostName)-\(port)"
        // Signals are caught from the start: one that arrives while registering
        // is forwarded to the command as soon as it exists.
        let signals = Signals.stream([SIGTERM, SIGINT])
        let registration = try await reporting {
            try await common.client().register(service: service, id: instanceID, host: host ?? hostName, port: port,
                                               metadata: try parseMeta(meta).merging(["pid": "\(getpid())"]) { a, _ in a },
                                               requireDaemon: false)
        }
        let child: Child
        do {
            child = try await Child.spawn(command, deathSignal: deathSignal.flatMap(Run.signalNumber))
        } catch {
            await registration.cancel()
            FileHandle.standardError.write(Data("rarangi: error: \(error)\n".utf8))
            throw ExitCode(127)
        }
        let forwarder = Task {
            for await s in signals { kill(child.pid, s) }
        }
        let status = await child.wait()
        forwarder.cancel()
        await registration.cancel()
        throw ExitCode(status)
    }
}

/// A child process started with posix_spawnp, with SIGTERM/SIGINT back at
/// their defaults and no signals blocked, in this process's group.
struct Child: Sendable {
    let pid: pid_t

    /// Spawns on a thread that lives until the command exits: the kernel's
    /// parent-death signal follows the thread that spawned, not the process,
    /// so a pool thread that went away would signal a healthy command.
    /// With `deathSignal`, rarangi runs itself first (`__exec-child`), which
    /// asks for the signal and then becomes the command (same pid).
    static func spawn(_ argv: [String], deathSignal: Int32?) async throws -> Child {
        var full = argv
        if let deathSignal {
            full = [selfPath(), "__exec-child", "\(deathSignal)", "\(getpid())", "--"] + argv
        }
        let args = full
        return try await withCheckedThrowingContinuation { (c: CheckedContinuation<Child, Error>) in
            let thread = Thread {
                let spawned: Child
                do {
                    spawned = try spawnHere(args)
                } catch {
                    c.resume(throwing: error)
                    return
                }
                c.resume(returning: spawned)
                spawned.reap()
            }
            thread.start()
        }
    }

    static func selfPath() -> String {
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        return n > 0 ? String(cString: buf) : CommandLine.arguments[0]
    }

    private static func spawnHere(_ argv: [String]) throws -> Child {
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGTERM)
        sigaddset(&defaults, SIGINT)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigdefault(&attr, &defaults)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attr, &empty)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        // The command gets standard input, output and error only: no socket,
        // event-poll descriptor or pipe of ours, so that the registration's
        // connection closes the moment this process dies, however it dies.
        closeOnExecAbove2()
        var cargs = argv.map { strdup($0) } + [nil]
        defer { for p in cargs { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, argv[0], nil, &attr, &cargs, environ)
        guard rc == 0 else { throw CLIError("cannot run '\(argv[0])': \(String(cString: strerror(rc)))") }
        return Child(pid: pid)
    }

    /// Marks every open descriptor above standard error close-on-exec (the
    /// HTTP client's event loop does not mark all of its own).
    private static func closeOnExecAbove2() {
        guard let dir = opendir("/proc/self/fd") else { return }
        defer { closedir(dir) }
        let own = dirfd(dir)
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard let fd = Int32(name), fd > 2, fd != own else { continue }
            let flags = fcntl(fd, F_GETFD)
            if flags >= 0 { _ = fcntl(fd, F_SETFD, flags | FD_CLOEXEC) }
        }
    }

    /// The exit status, once the spawning thread has reaped the command.
    private static let statuses = StatusBoard()

    /// On the spawning thread: waits for the exit and posts the status.
    fileprivate func reap() {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let code: Int32 = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        Child.statuses.post(pid, code)
    }

    /// Waits for the exit; returns the status to exit with.
    func wait() async -> Int32 {
        await Child.statuses.wait(pid)
    }
}

/// Exit statuses by pid, handed from the thread that reaped to the task that waits.
final class StatusBoard: @unchecked Sendable {
    private let lock = NSLock()
    private var done: [pid_t: Int32] = [:]
    private var waiting: [pid_t: CheckedContinuation<Int32, Never>] = [:]

    func post(_ pid: pid_t, _ code: Int32) {
        lock.lock()
        if let c = waiting.removeValue(forKey: pid) {
            lock.unlock()
            c.resume(returning: code)
            return
        }
        done[pid] = code
        lock.unlock()
    }

    func wait(_ pid: pid_t) async -> Int32 {
        await withCheckedContinuation { c in
            lock.lock()
            if let code = done.removeValue(forKey: pid) {
                lock.unlock()
                c.resume(returning: code)
                return
            }
            waiting[pid] = c
            lock.unlock()
        }
    }
}

/// `rarangi __exec-child SIGNAL PARENT -- CMD...`: asks the kernel for
/// SIGNAL when the spawning thread of PARENT ends, then becomes CMD. Not
/// for direct use (`rarangi run --death-signal`).
struct ExecChild: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "__exec-child", shouldDisplay: false)
    @Argument var signal: Int32
    @Argument var parent: Int32
    @Argument(parsing: .postTerminator) var command: [String] = []

    func run() throws {
        guard !command.isEmpty else { throw ExitCode(127) }
        // prctl(2) is not in the Glibc module: looked up by name. Its integer
        // arguments pass in registers the same as for a fixed signature.
        typealias Prctl = @convention(c) (Int32, UInt, UInt, UInt, UInt) -> Int32
        let prSetPdeathsig: Int32 = 1
        if let sym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "prctl") {
            _ = unsafeBitCast(sym, to: Prctl.self)(prSetPdeathsig, UInt(signal), 0, 0, 0)
        }
        // The command starts as posix_spawn would start it: no signal
        // blocked (this process's runtime blocks most on its main thread)
        // and TERM, INT and PIPE at their defaults.
        var empty = sigset_t()
        sigemptyset(&empty)
        sigprocmask(SIG_SETMASK, &empty, nil)
        for s in [SIGTERM, SIGINT, SIGPIPE] { Glibc.signal(s, SIG_DFL) }
        // The parent may have died before the request took effect.
        if getppid() != parent { kill(getpid(), signal) }
        var cargs = command.map { strdup($0) } + [nil]
        execvp(command[0], &cargs)
        FileHandle.standardError.write(Data("rarangi: error: cannot run '\(command[0])': \(String(cString: strerror(errno)))\n".utf8))
        throw ExitCode(127)
    }
}
