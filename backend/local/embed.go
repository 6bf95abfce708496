package local

import (
	"errors"
	"sync"
)

// embedded returns the weights and tokenizer built into the binary (nil
// until the trained files are committed).
var embedded = func() (model, tokenizer []byte) { return nil, nil }

// loadOnce loads the embedded model once per process: the weights are
// read-only and every caller shares them.
var loadOnce = sync.OnceValues(func() (*Model, error) {
	st, tj := embedded()
	if len(st) == 0 || len(tj) == 0 {
		return nil, errors.New("the built-in model's weights are not in this build (backend/local/weights is missing)")
	}
	return LoadFrom(st, tj)
})

// Load returns the built-in model, loading it on first use.
func Load() (*Model, error) { return loadOnce() }
