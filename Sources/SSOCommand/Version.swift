/// The release of the SSO programs: what `--version` prints and `scripts/package` names the Debian package after
/// (`sso_<version>_amd64.deb`). Raised with every release; written here only.
public enum SSOVersion {
    public static let current = "0.14.0"
}
