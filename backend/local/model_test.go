package local

import (
	"encoding/binary"
	"strings"
	"testing"
)

func TestLoadErrors(t *testing.T) {
	c := testConfig()
	tok := testTokenizerJSON(t)
	good := testTensors(c, 1)
	edit := func(f func(meta map[string]string, ts []testTensor) []testTensor) []byte {
		meta := metaOf(c)
		ts := append([]testTensor(nil), good...)
		ts = f(meta, ts)
		return encodeSafetensors(t, meta, ts)
	}
	cases := map[string][]byte{
		"shorter than the 8-byte header": {1, 2, 3},
		"runs past the end":              binary.LittleEndian.AppendUint64(nil, 1<<40),
		`missing "n_layers"`: edit(func(m map[string]string, ts []testTensor) []testTensor {
			delete(m, "n_layers")
			return ts
		}),
		`format is "gpt"`: edit(func(m map[string]string, ts []testTensor) []testTensor {
			m["format"] = "gpt"
			return ts
		}),
		"not a multiple of n_kv_heads": edit(func(m map[string]string, ts []testTensor) []testTensor {
			m["n_kv_heads"] = "3"
			return ts
		}),
		`missing tensor "norm.weight"`: edit(func(m map[string]string, ts []testTensor) []testTensor {
			return ts[:1]
		}),
		`"layers.0.attention.wq.weight" has shape [32 31], want [32 32]`: edit(func(m map[string]string, ts []testTensor) []testTensor {
			for i := range ts {
				if ts[i].name == "layers.0.attention.wq.weight" {
					ts[i] = testTensor{name: ts[i].name, shape: []int{32, 31}, data: make([]float32, 32*31)}
				}
			}
			return ts
		}),
		`unexpected tensor "layers.9.x"`: edit(func(m map[string]string, ts []testTensor) []testTensor {
			return append(ts, testTensor{name: "layers.9.x", shape: []int{1}, data: []float32{1}})
		}),
	}
	for want, st := range cases {
		_, err := LoadFrom(st, tok)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want an error mentioning %q, got %v", want, err)
		}
	}
	// The tokenizer must agree with the model.
	bad := metaOf(c)
	bad["eos_id"] = "5"
	if _, err := LoadFrom(encodeSafetensors(t, bad, good), tok); err == nil || !strings.Contains(err.Error(), "eos_id is 5") {
		t.Errorf("eos mismatch: %v", err)
	}
}
