package localserver

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any test leaves a goroutine behind (the
// in-process transport, the server, the model's workers).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
