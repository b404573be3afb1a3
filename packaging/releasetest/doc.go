// Package releasetest checks what `make release` (packaging/release.sh)
// writes to dist/: the Windows app's PE headers and resources, the MSI's
// tables (msiinfo), the Linux tarball and its per-user install
// (desktop-file-validate), the broker .deb installed with dpkg
// (systemd-analyze verify, its ExecStart run by hand as the unit's user,
// dpkg --purge), checksums and minisign signatures. The end-to-end tests
// build the release once per test process (see dist_test.go); the other
// tests read the recipe's sources only.
package releasetest
