package params

import (
	"os"
	"os/exec"
	"testing"
)

// needTool finds a program a test checks its output with (bash for curl
// exports, python3 for Python ones). Without it the test is skipped on a
// developer's machine, but fails under CI, whose script installs them: a
// check that silently does not run proves nothing.
func needTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing: .ci/run installs it, and these checks must run in CI", name)
		}
		t.Skipf("no %s here (CI installs it)", name)
	}
	return path
}
