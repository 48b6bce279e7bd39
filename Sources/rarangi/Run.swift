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
        command keeps running, in rarangi's process group.
        """)

    @OptionGroup var common: Common
    @Argument(help: "The service.") var service: String
    @Option(help: "The port the command serves on.") var port: Int
    @Option(help: "The host the command serves on (default: this host's name).") var host: String?
    @Option(help: "The instance id (default: HOSTNAME-PORT).") var id: String?
    @Option(help: ArgumentHelp("Extra metadata; repeatable.", valueName: "KEY=VALUE")) var meta: [String] = []
    @Argument(parsing: .postTerminator, help: "The command and its arguments, after --.") var command: [String] = []

    func validate() throws {
        if command.isEmpty { throw ValidationError("give the command to run after --") }
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
            child = try Child.spawn(command)
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

    static func spawn(_ argv: [String]) throws -> Child {
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

    /// Waits (on a thread of its own) for the exit; returns the status to exit with.
    func wait() async -> Int32 {
        let pid = self.pid
        return await withCheckedContinuation { c in
            Thread.detachNewThread {
                var status: Int32 = 0
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                let code: Int32
                if status & 0x7f == 0 {
                    code = (status >> 8) & 0xff
                } else {
                    code = 128 + (status & 0x7f)
                }
                c.resume(returning: code)
            }
        }
    }
}
