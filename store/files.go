package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// WriteFileAtomic writes data to a temp file in path's folder, syncs it and
// renames it over path, so a crash mid-write leaves the old file intact.
func WriteFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			_ = os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	ok = true
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// writeJSON writes v as indented JSON, atomically.
func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return WriteFileAtomic(path, append(data, '\n'))
}

// decodeStrict decodes one JSON value, refusing unknown fields and trailing
// data, and turns errors into file:line: field messages.
func decodeStrict(name string, data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syn):
			return fmt.Errorf("%s:%d: invalid JSON: %v", name, lineAt(data, syn.Offset), syn)
		case errors.As(err, &typ):
			return fmt.Errorf("%s:%d: field %s: expected %s, got JSON %s", name, lineAt(data, typ.Offset), typ.Field, typ.Type, typ.Value)
		case errors.Is(err, io.EOF):
			return fmt.Errorf("%s: empty file", name)
		case errors.Is(err, io.ErrUnexpectedEOF):
			return fmt.Errorf("%s:%d: truncated JSON", name, lineAt(data, int64(len(data))))
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return fmt.Errorf("%s:%d: unknown field %q", name, lineOfField(data, f), f)
		}
		// Errors from a field's own UnmarshalJSON (params, stop, logprobs)
		// carry no offset; point at the first line that could hold them.
		return fmt.Errorf("%s:%d: %v", name, lineAt(data, dec.InputOffset()), err)
	}
	if dec.More() {
		return fmt.Errorf("%s:%d: unexpected data after the JSON object", name, lineAt(data, dec.InputOffset()))
	}
	return nil
}

func lineAt(data []byte, off int64) int {
	off = max(0, min(off, int64(len(data))))
	return bytes.Count(data[:off], []byte("\n")) + 1
}

func lineOfField(data []byte, field string) int {
	i := bytes.Index(data, []byte(`"`+field+`"`))
	if i < 0 {
		return 1
	}
	return lineAt(data, int64(i))
}
