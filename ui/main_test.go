package ui

import (
	"testing"

	"go.uber.org/goleak"
)

// Every run's goroutines (HTTP streams, bridge reads, the program's own)
// must be gone when the tests end: a cancelled or replaced run leaks nothing.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
