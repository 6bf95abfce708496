package serve

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// An authorized key gets the playground: its screen shows the parameter panel.
func TestAuthorizedKeyGetsThePlayground(t *testing.T) {
	t.Parallel()
	e := startEnv(t)
	tm := e.openTerm("alice", 120, 40)
	tm.waitFor("the parameter panel", contains("parameters", "temperature", "max_tokens", "samples"))
	line := e.logs.waitLog(t, "msg=session ", "user=alice")
	if !strings.Contains(line, "key="+gossh.FingerprintSHA256(e.allowed.PublicKey())) {
		t.Fatalf("session not logged with the key that authenticated: %s", line)
	}
}

// reliability 13: only listed keys get in.
func TestUnknownKeyIsRefused(t *testing.T) {
	t.Parallel()
	e := startEnv(t)
	_, err := e.dial(clientConfig("mallory", e.other))
	if err == nil || !strings.Contains(err.Error(), "unable to authenticate") {
		t.Fatalf("an unlisted key got in: %v", err)
	}
	e.logs.waitLog(t, "auth refused", "user=mallory")
}

// reliability 13: offering a listed key and signing with another is refused
// (the client's query for the listed key succeeds; the signature cannot).
func TestOfferedKeySignedWithAnotherIsRefused(t *testing.T) {
	t.Parallel()
	e := startEnv(t)
	_, err := e.dial(clientConfig("mallory", badSigner{pub: e.allowed.PublicKey(), sign: e.other}))
	if err == nil {
		t.Fatal("a session opened with a listed key's name and another key's signature")
	}
	if strings.Contains(e.logs.String(), "msg=auth ") {
		t.Fatalf("auth logged as passed:\n%s", e.logs.String())
	}
}

// reliability 13: identity is the key that signed, not one only offered.
// The client offers an unlisted key first (refused), then signs with the
// listed one; in open mode it offers two and signs with the second.
func TestIdentityIsTheKeyThatSigned(t *testing.T) {
	t.Parallel()
	e := startEnv(t)
	tm := e.openTerm("bob", 100, 30, e.other, e.allowed)
	tm.waitFor("the playground", contains("parameters"))
	line := e.logs.waitLog(t, "msg=session ", "user=bob")
	if !strings.Contains(line, gossh.FingerprintSHA256(e.allowed.PublicKey())) || strings.Contains(line, gossh.FingerprintSHA256(e.other.PublicKey())) {
		t.Fatalf("wrong identity: %s", line)
	}

	o := startEnv(t, func(c *Config) { c.AuthorizedKeysPath, c.Open = "", true })
	third := newSigner(t)
	// The first signer's signatures are made with a third key: its query
	// passes (open admits any key), its signed attempt fails, and the
	// client cannot go on with it; the identity must never be it.
	_, err := o.dial(clientConfig("carol", badSigner{pub: o.other.PublicKey(), sign: third}))
	if err == nil {
		t.Fatal("open mode accepted a signature from another key")
	}
	tm = o.openTerm("carol", 100, 30, o.allowed)
	tm.waitFor("the playground", contains("parameters"))
	line = o.logs.waitLog(t, "msg=session ", "user=carol")
	if !strings.Contains(line, gossh.FingerprintSHA256(o.allowed.PublicKey())) {
		t.Fatalf("wrong identity in open mode: %s", line)
	}
}

// reliability 13: password and keyboard-interactive are never accepted, in
// either mode.
func TestPasswordAndKeyboardInteractiveAreOff(t *testing.T) {
	t.Parallel()
	for _, open := range []bool{false, true} {
		e := startEnv(t, func(c *Config) {
			if open {
				c.AuthorizedKeysPath, c.Open = "", true
			}
		})
		for name, m := range map[string]gossh.AuthMethod{
			"password": gossh.Password("hunter2"),
			"keyboard-interactive": gossh.KeyboardInteractive(func(string, string, []string, []bool) ([]string, error) {
				return nil, nil
			}),
		} {
			_, err := e.dial(&gossh.ClientConfig{User: "x", Auth: []gossh.AuthMethod{m}, HostKeyCallback: gossh.InsecureIgnoreHostKey()})
			if err == nil {
				t.Fatalf("open=%v: %s got in", open, name)
			}
		}
	}
}

// reliability 13: without a policy the server does not start, and says why.
func TestNoAuthPolicyRefusesToStart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, err := New(Config{HostKeyPath: filepath.Join(dir, "k"), Sampler: &fakeSampler{}})
	if !errors.Is(err, ErrNoAuthPolicy) || !strings.Contains(err.Error(), "--open") || !strings.Contains(err.Error(), "--authorized-keys") {
		t.Fatalf("started without a policy: %v", err)
	}
	keys := filepath.Join(dir, "keys")
	if err := os.WriteFile(keys, []byte("# nobody\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{HostKeyPath: filepath.Join(dir, "k"), AuthorizedKeysPath: keys, Sampler: &fakeSampler{}}); err == nil || !strings.Contains(err.Error(), "no keys") {
		t.Fatalf("an empty authorized_keys: %v", err)
	}
	if _, err := New(Config{HostKeyPath: filepath.Join(dir, "k"), AuthorizedKeysPath: keys, Open: true, Sampler: &fakeSampler{}}); err == nil {
		t.Fatal("--open with --authorized-keys was accepted")
	}
	line := string(gossh.MarshalAuthorizedKey(newSigner(t).PublicKey()))
	if err := os.WriteFile(keys, []byte("# a comment\n"+line+`from="10.0.0.0/8" `+line), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = New(Config{HostKeyPath: filepath.Join(dir, "k"), AuthorizedKeysPath: keys, Sampler: &fakeSampler{}})
	if err == nil || !strings.Contains(err.Error(), keys+":3") || !strings.Contains(err.Error(), "from=") {
		t.Fatalf("a key with options it cannot enforce: %v", err)
	}
}

// reliability 14: the host key is created ed25519 with mode 0600, its
// fingerprint survives a restart, and a key others can read is refused.
func TestHostKeyPersists(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "host_key")
	cfg := Config{HostKeyPath: path, Open: true, Sampler: &fakeSampler{}}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 || !a.HostKeyCreated() || a.HostKey().Type() != gossh.KeyAlgoED25519 {
		t.Fatalf("mode %v created %v type %s", fi.Mode().Perm(), a.HostKeyCreated(), a.HostKey().Type())
	}
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if b.HostKeyCreated() || b.Fingerprint() != a.Fingerprint() || !strings.HasPrefix(a.Fingerprint(), "SHA256:") {
		t.Fatalf("restart: %s -> %s (created again: %v)", a.Fingerprint(), b.Fingerprint(), b.HostKeyCreated())
	}
	// The fingerprint is logged where the client will check it.
	e := startEnv(t, func(c *Config) { c.HostKeyPath = path })
	var seen gossh.PublicKey
	cc := clientConfig("x", e.allowed)
	cc.HostKeyCallback = func(_ string, _ net.Addr, key gossh.PublicKey) error { seen = key; return nil }
	if _, err := e.dial(cc); err != nil {
		t.Fatal(err)
	}
	if gossh.FingerprintSHA256(seen) != a.Fingerprint() {
		t.Fatalf("server presents %s, fingerprint printed %s", gossh.FingerprintSHA256(seen), a.Fingerprint())
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("a world-readable host key: %v", err)
	}
}

// reliability 17: exec, subsystems (sftp) and a shell without a PTY are
// refused with one line saying why.
func TestOnlyInteractiveShellsWithAPty(t *testing.T) {
	t.Parallel()
	e := startEnv(t)
	refused := func(what string, run func(s *gossh.Session) error, want string) {
		t.Helper()
		s, err := e.dial(clientConfig("x", e.allowed))
		if err != nil {
			t.Fatal(err)
		}
		stderr, _ := s.StderrPipe()
		errc := make(chan error, 1)
		go func() { errc <- run(s) }()
		msg, _ := io.ReadAll(stderr)
		err = <-errc
		var exit *gossh.ExitError
		if !errors.As(err, &exit) || exit.ExitStatus() != 1 {
			t.Fatalf("%s: not refused: %v", what, err)
		}
		if got := strings.TrimSpace(string(msg)); strings.Count(got, "\n") != 0 || !strings.Contains(got, want) {
			t.Fatalf("%s: reason %q", what, got)
		}
		e.logs.waitLog(t, "msg=refused", what)
	}
	refused("exec", func(s *gossh.Session) error { return s.Run("cat /etc/passwd") }, "commands are not run here")

	// The subsystem request on a raw channel, to read its exit status
	// (x/crypto's Session only waits for commands and shells).
	client, err := gossh.Dial("tcp", e.addr, clientConfig("x", e.allowed))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ch, reqs, err := client.OpenChannel("session", nil)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := ch.SendRequest("subsystem", true, gossh.Marshal(struct{ Name string }{"sftp"})); !ok || err != nil {
		t.Fatalf("subsystem request: %v %v", ok, err)
	}
	msg, _ := io.ReadAll(ch.Stderr())
	status := -1
	for req := range reqs {
		if req.Type == "exit-status" && len(req.Payload) == 4 {
			status = int(binary.BigEndian.Uint32(req.Payload))
		}
	}
	if got := strings.TrimSpace(string(msg)); status != 1 || strings.Contains(got, "\n") || !strings.Contains(got, "the sftp subsystem is off") {
		t.Fatalf("sftp: status %d, reason %q", status, got)
	}
	e.logs.waitLog(t, "msg=refused", "what=subsystem", "subsystem=sftp")
	refused("no terminal", func(s *gossh.Session) error {
		if err := s.Shell(); err != nil {
			return err
		}
		return s.Wait()
	}, "needs a terminal")
}

// reliability 17 and 20: no port forwarding either way, so a viewer cannot
// make the server reach an address.
func TestPortForwardingIsRefused(t *testing.T) {
	t.Parallel()
	e := startEnv(t)
	cc := clientConfig("x", e.allowed)
	client, err := gossh.Dial("tcp", e.addr, cc)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	_, err = client.Dial("tcp", e.vllm.URL[len("http://"):len(e.vllm.URL)-len("/v1")])
	var oce *gossh.OpenChannelError
	if !errors.As(err, &oce) || oce.Reason != gossh.Prohibited || !strings.Contains(oce.Message, "direct-tcpip is off") {
		t.Fatalf("local forwarding: %v", err)
	}
	if _, err := client.Listen("tcp", "127.0.0.1:0"); err == nil {
		t.Fatal("remote forwarding was accepted")
	}
	e.logs.waitLog(t, "msg=refused", "type=direct-tcpip")
	e.logs.waitLog(t, "msg=refused", "type=tcpip-forward")
	if n := len(e.vllm.Requests()); n != 0 {
		t.Fatalf("the backend saw %d requests", n)
	}
}

// One session per connection: a second channel would be a second program.
func TestOneSessionPerConnection(t *testing.T) {
	t.Parallel()
	e := startEnv(t)
	client, err := gossh.Dial("tcp", e.addr, clientConfig("x", e.allowed))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	first, err := client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	if _, err := client.NewSession(); err == nil || !strings.Contains(err.Error(), "one session per connection") {
		t.Fatalf("second session: %v", err)
	}
}

// reliability 15: a client that connects and never finishes the handshake
// is cut off.
func TestHandshakeTimeout(t *testing.T) {
	t.Parallel()
	e := startEnv(t, func(c *Config) { c.Limits.HandshakeTimeout = 200 * time.Millisecond })
	conn, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	_, err = io.ReadAll(conn) // the server's version line, then EOF when it gives up
	if err != nil || time.Since(start) > 3*time.Second {
		t.Fatalf("connection not closed by the handshake timeout: %v after %s", err, time.Since(start))
	}
}
