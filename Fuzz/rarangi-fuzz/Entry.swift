import CFuzzDriver
import Glibc

// One binary for every fuzz target. Built with -DFUZZING and
// -sanitize=fuzzer,address (scripts/fuzz.sh), libFuzzer drives the target
// named by RARANGI_FUZZ_TARGET; built normally, it replays files (a seed
// corpus, crashes kept as regressions) through a target:
//     rarangi-fuzz TARGET FILE|DIR...

@_cdecl("LLVMFuzzerTestOneInput")
public func rarangiFuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    fuzzTarget(bytes)
    return 0
}

let fuzzTarget: ([UInt8]) -> Void = {
    let name = getenv("RARANGI_FUZZ_TARGET").map { String(cString: $0) } ?? ""
    if let t = Targets.all[name] { return t }
    return { _ in }
}()

#if FUZZING
/// libFuzzer's loop, from our own main.
@main
enum Fuzz {
    static func main() {
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in rarangiFuzzOne(data, size) })
    }
}
#else
/// Without libFuzzer: replays files through a target.
@main
enum Replay {
    static func main() { exit(replay()) }
}

/// Reads every file named (or in a folder named) and runs it through the target.
func replay() -> Int32 {
    let args = Array(CommandLine.arguments.dropFirst())
    guard let name = args.first, let target = Targets.all[name] else {
        fputs("usage: rarangi-fuzz TARGET FILE|DIR...  (targets: \(Targets.all.keys.sorted().joined(separator: " ")))\n", stderr)
        return 2
    }
    var files: [String] = []
    for path in args.dropFirst() {
        if let dir = opendir(path) {
            while let e = readdir(dir) {
                let n = withUnsafePointer(to: e.pointee.d_name) { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
                if !n.hasPrefix(".") { files.append(path + "/" + n) }
            }
            closedir(dir)
        } else {
            files.append(path)
        }
    }
    for file in files.sorted() {
        guard let f = fopen(file, "rb") else { fputs("cannot read \(file)\n", stderr); return 1 }
        var bytes: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&buf, 1, buf.count, f)
            if n <= 0 { break }
            bytes += buf[0..<n]
        }
        fclose(f)
        target(bytes)
    }
    print("rarangi-fuzz: \(name): \(files.count) inputs replayed, none failed")
    return 0
}
#endif
