import Glibc

/// Reads the small text files the daemon is given at start (key, token and
/// configuration files) with the C library alone, so the daemon needs no
/// Foundation for them. A file is read whole and must be UTF-8.
public enum TextFile {
    /// The largest file read: these files are lines of settings or keys, and
    /// a path such as /dev/zero must not fill the memory.
    public static let maxBytes = 16 << 20

    /// Why a file could not be read.
    public enum Failure: Error, Equatable, CustomStringConvertible {
        /// open(2) or read(2) failed with this errno.
        case system(Int32)
        /// The bytes are not UTF-8.
        case notUTF8
        /// The file is longer than `maxBytes`.
        case tooLarge

        /// The reason for the operator: the C library's sentence for an errno.
        public var description: String {
            switch self {
            case let .system(code): return String(cString: strerror(code))
            case .notUTF8: return "not UTF-8 text"
            case .tooLarge: return "larger than \(TextFile.maxBytes >> 20) MiB"
            }
        }
    }

    /// The file's text.
    public static func read(path: String) throws(Failure) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .system(errno) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .system(errno)
            }
            if n == 0 { break }
            guard bytes.count + n <= maxBytes else { throw .tooLarge }
            bytes += chunk[0..<n]
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw .notUTF8 }
        return text
    }
}
