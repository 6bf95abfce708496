package local

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"testing"
)

// testMerges are a few merges so the tiny tokenizer has multi-byte tokens
// (including ones that split UTF-8 characters: "é" is 0xC3 0xA9).
var testMerges = [][2]string{
	{"f", "u"}, {"fu", "n"}, {"fun", "c"}, {"Ġ", "m"}, {"a", "i"}, {"Ġm", "ai"}, {"Ġmai", "n"},
	{"Ċ", "ĉ"}, {"Ġ", "t"}, {"e", "r"}, {"r", "e"}, {"Ġt", "re"}, {"Ã", "©"}, {"(", ")"},
	{"Ġ", "{"}, {"i", "n"}, {"Ġ", "in"}, {"Ġ", "Ġ"}, {"ĠĠ", "ĠĠ"}, {"Ã©", "t"},
}

// testTokenizerJSON writes a tokenizer.json like the trainer's: id 0 is
// <|endoftext|>, then the 256 byte symbols, then one token per merge.
func testTokenizerJSON(t testing.TB) []byte {
	t.Helper()
	b2r := gpt2ByteToRune()
	vocab := map[string]int{EndOfText: 0}
	for b := 0; b < 256; b++ {
		vocab[string(b2r[b])] = b + 1
	}
	var merges []string
	for _, m := range testMerges {
		vocab[m[0]+m[1]] = len(vocab)
		merges = append(merges, m[0]+" "+m[1])
	}
	doc := map[string]any{
		"version":      "1.0",
		"added_tokens": []map[string]any{{"id": 0, "content": EndOfText, "special": true}},
		"model":        map[string]any{"type": "BPE", "vocab": vocab, "merges": merges},
	}
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func testConfig() Config {
	return Config{VocabSize: 256 + 1 + len(testMerges), Dim: 32, NLayers: 2, NHeads: 4, NKVHeads: 2,
		FFNDim: 48, MaxSeqLen: 64, RopeTheta: 10000, NormEps: 1e-5, EOSID: 0}
}

func f32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23&0xff) - 127 + 15
	mant := b & 0x7fffff
	switch {
	case exp >= 31:
		return sign | 0x7c00
	case exp <= 0:
		if exp < -10 {
			return sign
		}
		mant |= 0x800000
		shift := uint(14 - exp)
		h := uint16(mant >> shift)
		if mant>>(shift-1)&1 != 0 {
			h++
		}
		return sign | h
	}
	h := sign | uint16(exp)<<10 | uint16(mant>>13)
	if mant&0x1000 != 0 {
		h++
	}
	return h
}

type testTensor struct {
	name  string
	shape []int
	data  []float32
}

// encodeSafetensors writes tensors as F16 with the given metadata.
func encodeSafetensors(t testing.TB, meta map[string]string, tensors []testTensor) []byte {
	t.Helper()
	header := map[string]any{"__metadata__": meta}
	var data []byte
	for _, tt := range tensors {
		start := len(data)
		for _, v := range tt.data {
			data = binary.LittleEndian.AppendUint16(data, f32ToF16(v))
		}
		header[tt.name] = map[string]any{"dtype": "F16", "shape": tt.shape, "data_offsets": []int{start, len(data)}}
	}
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	out = append(out, h...)
	return append(out, data...)
}

func metaOf(c Config) map[string]string {
	return map[string]string{
		"format": "twinkle-llama-v1", "vocab_size": strconv.Itoa(c.VocabSize), "dim": strconv.Itoa(c.Dim),
		"n_layers": strconv.Itoa(c.NLayers), "n_heads": strconv.Itoa(c.NHeads), "n_kv_heads": strconv.Itoa(c.NKVHeads),
		"ffn_dim": strconv.Itoa(c.FFNDim), "max_seq_len": strconv.Itoa(c.MaxSeqLen),
		"rope_theta": fmt.Sprint(c.RopeTheta), "norm_eps": fmt.Sprint(c.NormEps), "eos_id": strconv.Itoa(c.EOSID),
	}
}

// testTensors makes random weights, already rounded to f16 so the
// reference sees exactly what the loader produces.
func testTensors(c Config, seed uint64) []testTensor {
	rng := rand.New(rand.NewPCG(seed, 1))
	mk := func(name string, scale float64, shape ...int) testTensor {
		n := 1
		for _, d := range shape {
			n *= d
		}
		tt := testTensor{name: name, shape: shape, data: make([]float32, n)}
		for i := range tt.data {
			v := float32(rng.NormFloat64() * scale)
			if len(shape) == 1 {
				v = 1 + v
			}
			tt.data[i] = f16ToF32(f32ToF16(v))
		}
		return tt
	}
	hd := c.Dim / c.NHeads
	ts := []testTensor{mk("tok_embeddings.weight", 1, c.VocabSize, c.Dim), mk("norm.weight", 0.1, c.Dim)}
	for i := 0; i < c.NLayers; i++ {
		p := fmt.Sprintf("layers.%d.", i)
		ts = append(ts,
			mk(p+"attention_norm.weight", 0.1, c.Dim),
			mk(p+"attention.wq.weight", 0.3, c.NHeads*hd, c.Dim),
			mk(p+"attention.wk.weight", 0.3, c.NKVHeads*hd, c.Dim),
			mk(p+"attention.wv.weight", 0.3, c.NKVHeads*hd, c.Dim),
			mk(p+"attention.wo.weight", 0.2, c.Dim, c.NHeads*hd),
			mk(p+"ffn_norm.weight", 0.1, c.Dim),
			mk(p+"feed_forward.w1.weight", 0.2, c.FFNDim, c.Dim),
			mk(p+"feed_forward.w3.weight", 0.2, c.FFNDim, c.Dim),
			mk(p+"feed_forward.w2.weight", 0.2, c.Dim, c.FFNDim),
		)
	}
	return ts
}

type testModel struct {
	*Model
	tensors map[string][]float32
}

func newTestModel(t testing.TB) *testModel {
	t.Helper()
	c := testConfig()
	ts := testTensors(c, 7)
	m, err := LoadFrom(encodeSafetensors(t, metaOf(c), ts), testTokenizerJSON(t))
	if err != nil {
		t.Fatal(err)
	}
	tm := &testModel{Model: m, tensors: map[string][]float32{}}
	for _, tt := range ts {
		tm.tensors[tt.name] = tt.data
	}
	return tm
}

// referenceLogits is the slow, obviously-correct forward pass: the whole
// sequence from scratch in float64, straight from the contract's math.
// It returns logits for every position.
func (tm *testModel) referenceLogits(ids []int) [][]float64 {
	c := tm.Config
	W := tm.tensors
	hd := c.Dim / c.NHeads
	T := len(ids)
	matvec := func(w []float32, out, in int, x []float64) []float64 {
		y := make([]float64, out)
		for o := 0; o < out; o++ {
			for i := 0; i < in; i++ {
				y[o] += float64(w[o*in+i]) * x[i]
			}
		}
		return y
	}
	norm := func(x []float64, w []float32) []float64 {
		var ss float64
		for _, v := range x {
			ss += v * v
		}
		r := 1 / math.Sqrt(ss/float64(len(x))+c.NormEps)
		y := make([]float64, len(x))
		for i := range x {
			y[i] = x[i] * r * float64(w[i])
		}
		return y
	}
	rot := func(v []float64, pos int) {
		for j := 0; j < hd/2; j++ {
			ang := float64(pos) * math.Pow(c.RopeTheta, -2*float64(j)/float64(hd))
			a, b := v[j], v[j+hd/2]
			v[j] = a*math.Cos(ang) - b*math.Sin(ang)
			v[j+hd/2] = b*math.Cos(ang) + a*math.Sin(ang)
		}
	}
	x := make([][]float64, T)
	for p, id := range ids {
		x[p] = make([]float64, c.Dim)
		for i := range x[p] {
			x[p][i] = float64(W["tok_embeddings.weight"][id*c.Dim+i])
		}
	}
	for l := 0; l < c.NLayers; l++ {
		pre := fmt.Sprintf("layers.%d.", l)
		q := make([][]float64, T)
		k := make([][]float64, T)
		v := make([][]float64, T)
		for p := 0; p < T; p++ {
			n := norm(x[p], W[pre+"attention_norm.weight"])
			q[p] = matvec(W[pre+"attention.wq.weight"], c.NHeads*hd, c.Dim, n)
			k[p] = matvec(W[pre+"attention.wk.weight"], c.NKVHeads*hd, c.Dim, n)
			v[p] = matvec(W[pre+"attention.wv.weight"], c.NKVHeads*hd, c.Dim, n)
			for h := 0; h < c.NHeads; h++ {
				rot(q[p][h*hd:(h+1)*hd], p)
			}
			for h := 0; h < c.NKVHeads; h++ {
				rot(k[p][h*hd:(h+1)*hd], p)
			}
		}
		for p := 0; p < T; p++ {
			att := make([]float64, c.NHeads*hd)
			for h := 0; h < c.NHeads; h++ {
				kh := h / (c.NHeads / c.NKVHeads)
				w := make([]float64, p+1)
				mx := math.Inf(-1)
				for s := 0; s <= p; s++ {
					for d := 0; d < hd; d++ {
						w[s] += q[p][h*hd+d] * k[s][kh*hd+d]
					}
					w[s] /= math.Sqrt(float64(hd))
					mx = math.Max(mx, w[s])
				}
				var z float64
				for s := range w {
					w[s] = math.Exp(w[s] - mx)
					z += w[s]
				}
				for s := range w {
					for d := 0; d < hd; d++ {
						att[h*hd+d] += w[s] / z * v[s][kh*hd+d]
					}
				}
			}
			o := matvec(W[pre+"attention.wo.weight"], c.Dim, c.NHeads*hd, att)
			for i := range o {
				x[p][i] += o[i]
			}
			n := norm(x[p], W[pre+"ffn_norm.weight"])
			g := matvec(W[pre+"feed_forward.w1.weight"], c.FFNDim, c.Dim, n)
			u := matvec(W[pre+"feed_forward.w3.weight"], c.FFNDim, c.Dim, n)
			for i := range g {
				g[i] = g[i] / (1 + math.Exp(-g[i])) * u[i]
			}
			d := matvec(W[pre+"feed_forward.w2.weight"], c.Dim, c.FFNDim, g)
			for i := range d {
				x[p][i] += d[i]
			}
		}
	}
	out := make([][]float64, T)
	for p := range x {
		out[p] = matvec(W["tok_embeddings.weight"], c.VocabSize, c.Dim, norm(x[p], W["norm.weight"]))
	}
	return out
}

// topIDs lists ids by descending value.
func topIDs(v []float64, k int) []int {
	ids := make([]int, len(v))
	for i := range ids {
		ids[i] = i
	}
	sort.SliceStable(ids, func(a, b int) bool { return v[ids[a]] > v[ids[b]] })
	return ids[:k]
}
