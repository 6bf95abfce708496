package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/vt"
	"github.com/creack/pty"
)

// The real binary in a real terminal: twinkle is built, started on a PTY
// with the built-in model, given a prompt and ctrl+r as keystrokes, and read
// back through a terminal emulator; ctrl+c leaves it with the terminal put
// back. This is the one test that runs runTUI, Bubble Tea's TTY handling and
// the signal wiring of main as a person meets them.
func TestPlaygroundInARealTerminal(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "twinkle")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	const w, h = 120, 40
	cmd := exec.Command(bin, "--endpoint", "local", "--max-tokens", "12", "--samples", "2", "--seed", "7")
	// A config folder of its own (no config.toml, no themes) and a terminal
	// that says it has colour; no server address is inherited.
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+t.TempDir(), "TERM=xterm-256color", "OPENAI_BASE_URL=", "NO_COLOR=")
	cmd.Dir = t.TempDir()
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: h, Cols: w})
	if errors.Is(err, pty.ErrUnsupported) {
		t.Skip("no PTY on this platform")
	}
	if err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		ptmx.Close()
	})

	// Everything the program writes goes through the emulator; what the
	// emulator answers (the background colour, the cursor) goes back in, as
	// a terminal's replies do.
	emu := vt.NewSafeEmulator(w, h)
	var mu sync.Mutex
	var raw bytes.Buffer
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		buf := make([]byte, 32*1024)
		for {
			n, err := ptmx.Read(buf)
			if n > 0 {
				mu.Lock()
				raw.Write(buf[:n])
				mu.Unlock()
				_, _ = emu.Write(buf[:n])
			}
			if err != nil {
				return
			}
		}
	}()
	go func() { _, _ = io.Copy(ptmx, emu) }()

	screen := func() string { return ansi.Strip(emu.Render()) }
	waitFor := func(what string, cond func(string) bool) string {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			s := screen()
			if cond(s) {
				return s
			}
			if time.Now().After(deadline) {
				t.Fatalf("waiting for %s; screen:\n%s", what, s)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitFor("the playground", func(s string) bool {
		return strings.Contains(s, "parameters") && strings.Contains(s, "twinkle-go-small") && strings.Contains(s, "no samples yet")
	})
	if _, err := ptmx.Write([]byte("func main() {")); err != nil {
		t.Fatal(err)
	}
	waitFor("the typed prompt", func(s string) bool { return strings.Contains(s, "func main() {") })
	ptmx.Write([]byte{0x12}) // ctrl+r
	s := waitFor("a finished run", func(s string) bool { return strings.Contains(s, "done in") })
	for _, want := range []string{"temperature", "max_tokens", "samples · 2", "#1 · seed 7", "#2 · seed 8", "length · 12 tok"} {
		if !strings.Contains(s, want) {
			t.Errorf("screen lacks %q:\n%s", want, s)
		}
	}

	ptmx.Write([]byte{0x03}) // ctrl+c
	select {
	case err := <-exited:
		exited <- err // for the cleanup
		if err != nil {
			t.Fatalf("twinkle exited with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ctrl+c did not end twinkle")
	}
	// What the program wrote last may still be in the PTY after it exits:
	// read until the PTY reports the end (EIO once drained, on Linux).
	select {
	case <-readDone:
	case <-time.After(5 * time.Second):
	}
	mu.Lock()
	out := raw.String()
	mu.Unlock()
	// The alternate screen was entered and left: the shell gets its screen back.
	if !strings.Contains(out, ansi.SetModeAltScreenSaveCursor) || !strings.Contains(out, ansi.ResetModeAltScreenSaveCursor) {
		t.Errorf("alternate screen not entered and left; output ends %q", out[max(0, len(out)-200):])
	}
}
