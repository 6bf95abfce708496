package local

import (
	"fmt"
	"math"
	"strconv"
)

// Config is the architecture read from the safetensors __metadata__.
type Config struct {
	VocabSize int
	Dim       int
	NLayers   int
	NHeads    int
	NKVHeads  int
	FFNDim    int
	MaxSeqLen int
	RopeTheta float64
	NormEps   float64
	EOSID     int
}

// HeadDim is the size of one attention head.
func (c Config) HeadDim() int { return c.Dim / c.NHeads }

// FLOPsPerToken is the matmul arithmetic of one decoded token at context
// length ctx (2 FLOPs per multiply-add), the numerator of the README's
// arithmetic speed limit.
func (c Config) FLOPsPerToken(ctx int) float64 {
	hd := c.HeadDim()
	qkv := c.Dim * (c.NHeads*hd + 2*c.NKVHeads*hd)
	wo := c.NHeads * hd * c.Dim
	ffn := 3 * c.Dim * c.FFNDim
	attn := 2 * c.NHeads * hd * ctx
	head := c.Dim * c.VocabSize
	return 2 * float64(c.NLayers*(qkv+wo+ffn+attn)+head)
}

func configFromMeta(meta map[string]string) (Config, error) {
	var c Config
	if f := meta["format"]; f != "twinkle-llama-v1" {
		return c, fmt.Errorf("model metadata: format is %q, want \"twinkle-llama-v1\"", f)
	}
	ints := []struct {
		key string
		dst *int
		min int
	}{
		{"vocab_size", &c.VocabSize, 1}, {"dim", &c.Dim, 1}, {"n_layers", &c.NLayers, 1},
		{"n_heads", &c.NHeads, 1}, {"n_kv_heads", &c.NKVHeads, 1}, {"ffn_dim", &c.FFNDim, 1},
		{"max_seq_len", &c.MaxSeqLen, 2}, {"eos_id", &c.EOSID, 0},
	}
	for _, f := range ints {
		s, ok := meta[f.key]
		if !ok {
			return c, fmt.Errorf("model metadata: missing %q", f.key)
		}
		v, err := strconv.Atoi(s)
		if err != nil || v < f.min {
			return c, fmt.Errorf("model metadata: %q is %q, want an integer >= %d", f.key, s, f.min)
		}
		*f.dst = v
	}
	floats := []struct {
		key string
		dst *float64
	}{{"rope_theta", &c.RopeTheta}, {"norm_eps", &c.NormEps}}
	for _, f := range floats {
		s, ok := meta[f.key]
		if !ok {
			return c, fmt.Errorf("model metadata: missing %q", f.key)
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || !(v > 0) || math.IsInf(v, 0) {
			return c, fmt.Errorf("model metadata: %q is %q, want a positive number", f.key, s)
		}
		*f.dst = v
	}
	switch {
	case c.Dim%c.NHeads != 0:
		return c, fmt.Errorf("model metadata: dim %d is not a multiple of n_heads %d", c.Dim, c.NHeads)
	case c.HeadDim()%2 != 0:
		return c, fmt.Errorf("model metadata: head dim %d is odd; rotary needs pairs", c.HeadDim())
	case c.NHeads%c.NKVHeads != 0:
		return c, fmt.Errorf("model metadata: n_heads %d is not a multiple of n_kv_heads %d", c.NHeads, c.NKVHeads)
	case c.EOSID >= c.VocabSize:
		return c, fmt.Errorf("model metadata: eos_id %d outside vocab of %d", c.EOSID, c.VocabSize)
	}
	return c, nil
}

// layerWeights holds one block, with q/k/v fused into one [q+k+v, dim] matrix
// and gate/up into one [2*ffn, dim] matrix so each is a single matmul.
type layerWeights struct {
	attnNorm []float32
	wqkv     mat
	wo       mat
	ffnNorm  []float32
	w13      mat
	w2       mat
}

// Model is a loaded model: weights, tokenizer and precomputed rotary tables.
// It is immutable after loading and safe for concurrent use.
type Model struct {
	Config Config
	// Meta is the safetensors __metadata__ (training facts included).
	Meta map[string]string
	Tok  *Tokenizer
	// Name is the model id served at /v1/models.
	Name string

	emb    mat // [vocab, dim]; also the output head (tied)
	layers []layerWeights
	norm   []float32
	cos    []float32 // [maxSeq, hd/2]
	sin    []float32
}

// DefaultModelName is the id the built-in model answers to.
const DefaultModelName = "twinkle-go-small"

// LoadFrom builds a model from a safetensors file and a tokenizer.json held
// in memory. The bytes are not retained.
func LoadFrom(safetensors, tokenizerJSON []byte) (*Model, error) {
	tensors, meta, err := parseSafetensors(safetensors)
	if err != nil {
		return nil, err
	}
	cfg, err := configFromMeta(meta)
	if err != nil {
		return nil, err
	}
	tok, err := NewTokenizer(tokenizerJSON)
	if err != nil {
		return nil, err
	}
	if tok.VocabSize() > cfg.VocabSize {
		return nil, fmt.Errorf("tokenizer has %d ids but the model's vocab_size is %d", tok.VocabSize(), cfg.VocabSize)
	}
	if got := tok.EOS(); got != cfg.EOSID {
		return nil, fmt.Errorf("tokenizer's <|endoftext|> is id %d but the model's eos_id is %d", got, cfg.EOSID)
	}
	used := map[string]bool{}
	getT := func(name string, shape ...int) (stTensor, error) {
		t, ok := tensors[name]
		if !ok {
			return t, fmt.Errorf("model weights: missing tensor %q", name)
		}
		used[name] = true
		if len(t.shape) != len(shape) {
			return t, fmt.Errorf("model weights: %q has shape %v, want %v", name, t.shape, shape)
		}
		for i := range shape {
			if t.shape[i] != shape[i] {
				return t, fmt.Errorf("model weights: %q has shape %v, want %v", name, t.shape, shape)
			}
		}
		return t, nil
	}
	get := func(name string, shape ...int) ([]float32, error) {
		t, err := getT(name, shape...)
		return t.f32(), err
	}
	// getMats reads matrices that share their input size and stacks them
	// into one (q/k/v, gate/up), float16 if they all are and the AVX2
	// kernels will widen them; the NEON and portable kernels get float32,
	// decoded here once (exactly: every float16 is a float32).
	getMats := func(names []string, outs []int, in int) (mat, error) {
		ts := make([]stTensor, len(names))
		allHalf := useAsm && asmHalf
		m := mat{in: in}
		for i, n := range names {
			t, err := getT(n, outs[i], in)
			if err != nil {
				return m, err
			}
			ts[i] = t
			allHalf = allHalf && t.half != nil
			m.out += outs[i]
		}
		for _, t := range ts {
			if allHalf {
				m.h = append(m.h, t.half...)
			} else {
				m.f = append(m.f, t.f32()...)
			}
		}
		return m, nil
	}
	hd := cfg.HeadDim()
	qd, kvd := cfg.NHeads*hd, cfg.NKVHeads*hd
	m := &Model{Config: cfg, Meta: meta, Tok: tok, Name: DefaultModelName}
	if m.emb, err = getMats([]string{"tok_embeddings.weight"}, []int{cfg.VocabSize}, cfg.Dim); err != nil {
		return nil, err
	}
	if m.norm, err = get("norm.weight", cfg.Dim); err != nil {
		return nil, err
	}
	for i := 0; i < cfg.NLayers; i++ {
		p := fmt.Sprintf("layers.%d.", i)
		var l layerWeights
		if l.attnNorm, err = get(p+"attention_norm.weight", cfg.Dim); err != nil {
			return nil, err
		}
		if l.ffnNorm, err = get(p+"ffn_norm.weight", cfg.Dim); err != nil {
			return nil, err
		}
		if l.wqkv, err = getMats([]string{p + "attention.wq.weight", p + "attention.wk.weight", p + "attention.wv.weight"}, []int{qd, kvd, kvd}, cfg.Dim); err != nil {
			return nil, err
		}
		if l.wo, err = getMats([]string{p + "attention.wo.weight"}, []int{cfg.Dim}, qd); err != nil {
			return nil, err
		}
		if l.w13, err = getMats([]string{p + "feed_forward.w1.weight", p + "feed_forward.w3.weight"}, []int{cfg.FFNDim, cfg.FFNDim}, cfg.Dim); err != nil {
			return nil, err
		}
		if l.w2, err = getMats([]string{p + "feed_forward.w2.weight"}, []int{cfg.Dim}, cfg.FFNDim); err != nil {
			return nil, err
		}
		m.layers = append(m.layers, l)
	}
	for name := range tensors {
		if !used[name] {
			return nil, fmt.Errorf("model weights: unexpected tensor %q (n_layers is %d)", name, cfg.NLayers)
		}
	}
	half := hd / 2
	m.cos = make([]float32, cfg.MaxSeqLen*half)
	m.sin = make([]float32, cfg.MaxSeqLen*half)
	for pos := 0; pos < cfg.MaxSeqLen; pos++ {
		for j := 0; j < half; j++ {
			// As the PyTorch side: angle and cos/sin in float64, then rounded.
			a := float64(pos) * math.Pow(cfg.RopeTheta, -float64(2*j)/float64(hd))
			m.cos[pos*half+j] = float32(math.Cos(a))
			m.sin[pos*half+j] = float32(math.Sin(a))
		}
	}
	return m, nil
}
