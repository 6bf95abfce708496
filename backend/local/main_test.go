package local

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any test leaves a goroutine behind (the
// matmul and sampling workers, the in-process transport, the server).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
