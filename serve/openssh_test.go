//go:build unix

package serve

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/vt"
	"github.com/creack/pty"
	gossh "golang.org/x/crypto/ssh"
)

// The real OpenSSH client in a PTY, against a server on 127.0.0.1: it checks
// the host key the server printed, logs in with a key file, gets the
// playground, drives a run, resizes mid-stream, and quits. CI installs
// Debian's openssh-client for this (.ci/run).
func TestOpenSSHClient(t *testing.T) {
	t.Parallel()
	sshBin, err := exec.LookPath("ssh")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("no ssh client: .ci/run installs openssh-client, and this test must run in CI")
		}
		t.Skip("no ssh client here (CI installs openssh-client)")
	}
	dir := t.TempDir()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := gossh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "id_ed25519")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	signer, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	authKeys := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(authKeys, gossh.MarshalAuthorizedKey(signer.PublicKey()), 0o600); err != nil {
		t.Fatal(err)
	}
	e := startEnv(t, func(c *Config) { c.AuthorizedKeysPath = authKeys })
	host, port, _ := net.SplitHostPort(e.addr)
	knownHosts := filepath.Join(dir, "known_hosts")
	line := fmt.Sprintf("[%s]:%s %s", host, port, gossh.MarshalAuthorizedKey(e.srv.HostKey()))
	if err := os.WriteFile(knownHosts, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(sshBin, "-F", "/dev/null", "-p", port, "-i", keyFile,
		"-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
		"-o", "UserKnownHostsFile="+knownHosts, "-o", "LogLevel=ERROR", "viewer@"+host)
	cmd.Env = []string{"HOME=" + dir, "TERM=xterm-256color", "PATH=" + os.Getenv("PATH")}
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 120})
	if err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var exitErr error
	go func() {
		exitErr = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		_ = ptmx.Close()
	})

	emu := vt.NewSafeEmulator(120, 40)
	out := &logBuffer{}
	go func() {
		buf := make([]byte, 32<<10)
		for {
			n, err := ptmx.Read(buf)
			if n > 0 {
				_, _ = out.Write(buf[:n])
				_, _ = emu.Write(buf[:n])
			}
			if err != nil {
				return
			}
		}
	}()
	go func() { _, _ = io.Copy(ptmx, emu) }() // the terminal's answers to queries
	t.Cleanup(func() { _ = emu.InputPipe().(io.Closer).Close() })
	screen := func() string { return ansi.Strip(emu.Render()) }
	waitFor := func(what string, cond func(string) bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !cond(screen()) {
			if time.Now().After(deadline) {
				t.Fatalf("waiting for %s; screen:\n%s\nssh said: %q", what, screen(), tail(out.String(), 400))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	send := func(s string) {
		if _, err := io.WriteString(ptmx, s); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}

	waitFor("the playground", contains("parameters", "temperature", "ctrl+r run"))
	e.logs.waitLog(t, "msg=session ", "user=viewer", "key="+gossh.FingerprintSHA256(signer.PublicKey()), `client="SSH-2.0-OpenSSH`)
	send("hello over ssh")
	send("\x12") // ctrl+r
	waitFor("a finished run", func(s string) bool {
		return strings.Contains(s, "done in") && regexp.MustCompile(`length · \d+ tok`).MatchString(s)
	})

	// Resize: the terminal and the program follow.
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 30, Cols: 100}); err != nil {
		t.Fatal(err)
	}
	emu.Resize(100, 30)
	send("\x12")
	waitFor("a run at the new size", func(s string) bool {
		lines := strings.Split(s, "\n")
		return len(lines) == 30 && strings.Contains(s, "done in") && len([]rune(lines[0])) <= 100 && strings.Contains(lines[29], "ctrl+r run")
	})

	send("\x03") // ctrl+c quits
	select {
	case <-exited:
		if exitErr != nil {
			t.Fatalf("ssh exited with %v; it said %q", exitErr, tail(out.String(), 400))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ssh still running after ctrl+c")
	}
	e.logs.waitLog(t, "msg=\"session end\"", "user=viewer", "reason=viewer")
	e.logs.waitLog(t, "msg=run ", "user=viewer", "prompt_bytes=14")
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
