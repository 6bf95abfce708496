package serve

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// DefaultHostKeyPath is where the host key lives unless --host-key says:
// $XDG_DATA_HOME/twinkle/ssh_host_ed25519_key, else ~/.local/share/twinkle/….
func DefaultHostKeyPath() (string, error) {
	dir := os.Getenv("XDG_DATA_HOME")
	if dir == "" || !filepath.IsAbs(dir) { // the XDG spec ignores a relative path
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("no home folder for the host key (set --host-key): %w", err)
		}
		dir = filepath.Join(home, ".local", "share")
	}
	return filepath.Join(dir, "twinkle", "ssh_host_ed25519_key"), nil
}

// loadHostKey reads the host key at path, or creates an ed25519 key there (mode
// 0600, in a 0700 folder) when there is none. created says which. A key file
// that others can read is refused, as OpenSSH refuses one: anyone who reads it
// can pose as this server.
func loadHostKey(path string) (signer gossh.Signer, created bool, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		data, err = createHostKey(path)
		created = true
	}
	if err != nil {
		return nil, false, fmt.Errorf("host key %s: %w", path, err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return nil, false, fmt.Errorf("host key %s: mode %04o lets others read it; chmod 600 %s", path, fi.Mode().Perm(), path)
	}
	signer, err = gossh.ParsePrivateKey(data)
	if err != nil {
		return nil, false, fmt.Errorf("host key %s: %w", path, err)
	}
	return signer, created, nil
}

// createHostKey writes a new ed25519 key in OpenSSH's format: to a temporary
// file in the same folder, then linked into place, so a crash leaves no
// half-written key and two servers starting at once agree on one key.
func createHostKey(path string) ([]byte, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	block, err := gossh.MarshalPrivateKey(priv, "twinkle serve host key")
	if err != nil {
		return nil, err
	}
	data := pem.EncodeToMemory(block)
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(dir, ".host-key-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return os.ReadFile(path) // another process made it first: use theirs
		}
		return nil, err
	}
	return data, nil
}

// authorizedKeys is an authorized_keys file, read at start and again when it
// changes, so removing a line takes effect on the next connection.
type authorizedKeys struct {
	path string

	mu      sync.Mutex
	keys    map[string]bool // key.Marshal() -> true
	modTime time.Time
	size    int64
}

func loadAuthorizedKeys(path string) (*authorizedKeys, error) {
	a := &authorizedKeys{path: path}
	if err := a.reload(); err != nil {
		return nil, err
	}
	if len(a.keys) == 0 {
		return nil, fmt.Errorf("%s: no keys in it; nobody could log in", path)
	}
	return a, nil
}

// reload reads the file if it changed since the last read.
func (a *authorizedKeys) reload() error {
	fi, err := os.Stat(a.path)
	if err != nil {
		return err
	}
	if a.keys != nil && fi.ModTime().Equal(a.modTime) && fi.Size() == a.size {
		return nil
	}
	data, err := os.ReadFile(a.path)
	if err != nil {
		return err
	}
	keys, err := parseAuthorizedKeys(a.path, data)
	if err != nil {
		return err
	}
	a.keys, a.modTime, a.size = keys, fi.ModTime(), fi.Size()
	return nil
}

// parseAuthorizedKeys reads OpenSSH's format, one key a line. Lines with
// options (from=, command=, cert-authority, …) are refused rather than read as
// plain keys: twinkle does not enforce them, and a key limited by them must not
// become a key without limits.
func parseAuthorizedKeys(path string, data []byte) (map[string]bool, error) {
	keys := map[string]bool{}
	for i, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		key, _, options, _, err := gossh.ParseAuthorizedKey(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, i+1, err)
		}
		if len(options) > 0 {
			return nil, fmt.Errorf("%s:%d: options (%s) are not supported by twinkle serve; list the key without them", path, i+1, strings.Join(options, ","))
		}
		keys[string(key.Marshal())] = true
	}
	return keys, nil
}

// allowed reports whether key is listed. A file that became unreadable or
// malformed keeps the last good list (the error is returned to be logged).
func (a *authorizedKeys) allowed(key gossh.PublicKey) (bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	err := a.reload()
	return a.keys[string(key.Marshal())], err
}
