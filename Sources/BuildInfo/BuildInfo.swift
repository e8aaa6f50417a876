import CBuildInfo

/// The release (the repository's VERSION file) and git commit this binary was built from;
/// make writes both into CBuildInfo, so the package, `--version` and lbd_build_info agree.
public enum BuildInfo {
    public static let version = String(cString: lb_build_version())
    public static let commit = String(cString: lb_build_commit())

    /// `--version`'s answer: `lbctl 0.5.0 (commit 0123456789ab)`.
    public static func versionLine(of program: String) -> String {
        "\(program) \(version) (commit \(commit))"
    }
}
