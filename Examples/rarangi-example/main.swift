// A runnable example of the RarangiClient library:
//
//     swift run rarangi-example development
//
// It holds a registration of service "example" for as long as it runs,
// watches the service, looks it up, and deregisters after a few seconds.
import Foundation
import RarangiClient

let environment = CommandLine.arguments.dropFirst().first ?? ProcessInfo.processInfo.environment["RARANGI_ENV"] ?? "development"
let client = RarangiClient(environment: environment)

do {
    // Held: the daemon deletes it the moment this process's connection closes.
    let registration = try await client.register(service: "example", id: "example-\(getpid())",
                                                 host: "127.0.0.1", port: 8080, metadata: ["version": "1"])
    print("registered on \(registration.server.map { "\($0)" } ?? "?")")

    // A watcher hears of each change as it happens (no polling).
    let watcher = Task {
        for try await snapshot in client.watch("example") {
            print("example now has \(snapshot.instances.count) instance(s): \(snapshot.ids)")
        }
    }

    for instance in try await client.lookup("example") {
        print("lookup: \(instance.id) at \(instance.host ?? "?"):\(instance.port ?? 0)")
    }
    try await Task.sleep(nanoseconds: 2_000_000_000)
    await registration.cancel()  // deregisters
    try await Task.sleep(nanoseconds: 500_000_000)
    watcher.cancel()
} catch {
    print("error: \(error)")
    exit(1)
}
