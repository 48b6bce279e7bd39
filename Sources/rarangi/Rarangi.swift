import ArgumentParser
import Foundation
import RarangiClient
import RarangiProtocol

/// `rarangi`: the command-line client of RarangiRatonga.
@main
struct Rarangi: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rarangi",
        abstract: "Register, look up and watch services in a RarangiRatonga catalogue.",
        discussion: """
        Every subcommand takes --env ENV (or RARANGI_ENV) and finds the daemons of
        that environment on this host (slot a, then slot b); --server HOST:PORT
        points it at explicit daemons instead. See rarangi(1) and rarangi-protocol(7).
        """,
        version: RarangiVersion.string,
        subcommands: [Register.self, Deregister.self, Lookup.self, Watch.self, Status.self, Forget.self, Run.self, Keygen.self, ExecChild.self])
}

/// The options every subcommand accepts after its name.
struct Common: ParsableArguments {
    @Option(name: .long, help: "Environment: production, staging, testing or development (default: $RARANGI_ENV).")
    var env: String?

    @Option(name: .long, help: ArgumentHelp("A daemon to use instead of discovery; repeat for fallbacks.", valueName: "HOST:PORT"))
    var server: [String] = []

    @Option(name: .long, help: ArgumentHelp("Token for daemons run with --token-file (default: $RARANGI_TOKEN); other users can read a command line, so prefer --token-file or the variable.", valueName: "TOKEN"))
    var token: String?

    @Option(name: .customLong("token-file"), help: ArgumentHelp("Read the token from the first line of FILE.", valueName: "FILE"))
    var tokenFile: String?

    /// The token: --token, else --token-file, else RARANGI_TOKEN.
    func resolvedToken() throws -> String? {
        if let token { return token }
        if let tokenFile {
            guard let text = try? String(contentsOfFile: tokenFile, encoding: .utf8) else {
                throw CLIError("cannot read --token-file \(tokenFile)")
            }
            guard let line = text.split(whereSeparator: \.isNewline).first.map({ $0.trimmingCharacters(in: .whitespaces) }),
                  !line.isEmpty else {
                throw CLIError("--token-file \(tokenFile) holds no token")
            }
            return line
        }
        if let t = ProcessInfo.processInfo.environment["RARANGI_TOKEN"], !t.isEmpty { return t }
        return nil
    }

    /// The client these options describe.
    func client() throws -> RarangiClient {
        guard let environment = env ?? ProcessInfo.processInfo.environment["RARANGI_ENV"], !environment.isEmpty else {
            throw CLIError("no environment: give --env ENV or set RARANGI_ENV")
        }
        var servers: [Endpoint] = []
        for s in server {
            guard let e = Endpoint(parsing: s), e.isDialable else { throw CLIError("--server must be HOST:PORT, got '\(s)'") }
            servers.append(e)
        }
        var config = Configuration(environment: environment, servers: servers, log: { line in
            FileHandle.standardError.write(Data(("rarangi: " + line + "\n").utf8))
        })
        config.token = try resolvedToken()
        _ = try config.candidates()
        return RarangiClient(config)
    }
}

/// A one-line error for stderr.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// Runs `body`, turning library errors into one line on stderr and exit status 1.
func reporting<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let e as ExitCode {
        throw e
    } catch {
        FileHandle.standardError.write(Data("rarangi: error: \(error)\n".utf8))
        throw ExitCode(1)
    }
}

/// `k=v` pairs from `--meta`.
func parseMeta(_ pairs: [String]) throws -> [String: String] {
    var out: [String: String] = [:]
    for p in pairs {
        guard let eq = p.firstIndex(of: "="), eq != p.startIndex else { throw CLIError("--meta takes KEY=VALUE, got '\(p)'") }
        out[String(p[..<eq])] = String(p[p.index(after: eq)...])
    }
    return out
}
