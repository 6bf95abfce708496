package local

import (
	_ "embed"
	"sync"
)

// The trained model ships inside the binary (about 11 MB of float16
// weights; see weights/ and train/README.md).
var (
	//go:embed weights/model.safetensors
	embeddedModel []byte
	//go:embed weights/tokenizer.json
	embeddedTokenizer []byte
)

// loadOnce loads the embedded model once per process: the weights are
// read-only and every caller shares them.
var loadOnce = sync.OnceValues(func() (*Model, error) {
	return LoadFrom(embeddedModel, embeddedTokenizer)
})

// Load returns the built-in model, loading it on first use (tens of
// milliseconds) and sharing it afterwards.
func Load() (*Model, error) { return loadOnce() }
