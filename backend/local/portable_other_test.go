//go:build !(amd64 || arm64) || purego

package local

import "testing"

// eachPath runs f on the only kernels this build has, the portable ones.
func eachPath(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	t.Run("portable", f)
}

// withPortable runs f; this build has no other path.
func withPortable(t *testing.T, f func()) {
	t.Helper()
	f()
}

// TestPortableMatchesAssembly says why it has nothing to compare here.
func TestPortableMatchesAssembly(t *testing.T) {
	t.Skip("no assembly kernels in this build (another architecture, or -tags purego): nothing to compare the portable path with")
}
