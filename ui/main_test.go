package ui

import (
	"testing"

	"go.uber.org/goleak"
)

// Every run's goroutines (HTTP streams, bridge reads, the program's own)
// must be gone when the tests end: a cancelled or replaced run leaks nothing.
//
// One of Bubble Tea's is let be: its input reader hands what it read to the
// program without looking whether the program is still there, so a terminal
// reply read just as a test's program stops (the end-to-end tests' terminal
// answers queries through a pipe) waits for good. A real terminal's program
// ends with its process.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/charmbracelet/ultraviolet.(*TerminalReader).sendEvents"))
}
