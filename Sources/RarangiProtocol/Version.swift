/// The version of RarangiRatonga, reported by `--version`, the `Server`
/// header and the status document.
public enum RarangiVersion {
    /// The release number.
    public static let string = "0.1.0"
}
