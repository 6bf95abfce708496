package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/twinkle-sh/twinkle/backend/vllmtest"
)

// lockedBuffer is stderr shared between a running command and the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestServeRefusesToStartWithoutAPolicy(t *testing.T) {
	_, errs, err := runCLI(t, "", "serve", "--listen", "127.0.0.1:0", "--host-key", filepath.Join(t.TempDir(), "k"))
	if err == nil || exitCode(err) != 2 || !strings.Contains(errs, "--authorized-keys FILE") || !strings.Contains(errs, "--open") {
		t.Fatalf("err %v (code %d), stderr %q", err, exitCode(err), errs)
	}
	_, errs, err = runCLI(t, "", "serve", "--open", "--max-samples", "40", "--max-logprobs", "0", "--max-tokens-cap", "1")
	if err == nil || exitCode(err) != 2 || !strings.Contains(errs, "--max-samples") || !strings.Contains(errs, "--max-logprobs") || !strings.Contains(errs, "--max-tokens-cap") {
		t.Fatalf("bad caps: err %v, stderr %q", err, errs)
	}
}

// `twinkle serve --open` says loudly that anyone gets in, prints the host
// key's fingerprint (created at --host-key), and stops cleanly when its
// context ends (SIGINT/SIGTERM).
func TestServeOpenStartsAndStops(t *testing.T) {
	srv := vllmtest.New()
	defer srv.Close()
	keyPath := filepath.Join(t.TempDir(), "data", "host_key")
	var out bytes.Buffer
	errb := &lockedBuffer{}
	e := testEnv("", &out, nil)
	e.stderr = errb
	root := newRoot(e)
	root.SetArgs([]string{"serve", "--open", "--listen", "127.0.0.1:0", "--host-key", keyPath, "--endpoint", srv.URL, "--api-key", "sk-never-shown"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(errb.String(), "OPEN DEMO") {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no start message: %q", errb.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	data, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := gossh.ParsePrivateKey(data)
	if err != nil {
		t.Fatal(err)
	}
	msg := errb.String()
	if !strings.Contains(msg, gossh.FingerprintSHA256(signer.PublicKey())) || !regexp.MustCompile(`listening on 127\.0\.0\.1:\d+; connect with: ssh -p \d+`).MatchString(msg) {
		t.Fatalf("start message: %q", msg)
	}
	if strings.Contains(msg, "sk-never-shown") {
		t.Fatal("the API key was printed")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve ended with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("serve did not stop")
	}
}
