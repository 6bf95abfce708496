package local

import (
	"math"
	"runtime"
	"sync"
)

// kvCache holds the keys and values of one sequence for every layer. A
// sample's cache points at the prompt's cache for positions [0, base), so N
// samples share one prefill and one copy of the prompt's keys and values.
type kvCache struct {
	parent *kvCache
	base   int
	kvd    int
	limit  int         // positions this cache may hold
	k, v   [][]float32 // per layer: [positions * kvd]
}

func newKVCache(cfg Config, parent *kvCache, base, capacity int) *kvCache {
	kvd := cfg.NKVHeads * cfg.HeadDim()
	c := &kvCache{parent: parent, base: base, kvd: kvd, limit: capacity}
	// A sample's cache starts small and grows: most samples stop long
	// before the context is full, and n of them are allocated at once.
	first := capacity
	if parent != nil {
		first = min(capacity, 64)
	}
	c.k = make([][]float32, cfg.NLayers)
	c.v = make([][]float32, cfg.NLayers)
	for l := range c.k {
		c.k[l] = make([]float32, first*kvd)
		c.v[l] = make([]float32, first*kvd)
	}
	return c
}

// at returns the key and value vectors of position pos in layer l, growing
// the cache when pos is the next position to be written.
func (c *kvCache) at(l, pos int) (k, v []float32) {
	if pos < c.base {
		return c.parent.at(l, pos)
	}
	off := (pos - c.base) * c.kvd
	if off+c.kvd > len(c.k[l]) {
		n := min(max(2*len(c.k[l]), off+c.kvd), c.limit*c.kvd)
		c.k[l] = append(c.k[l], make([]float32, n-len(c.k[l]))...)
		c.v[l] = append(c.v[l], make([]float32, n-len(c.v[l]))...)
	}
	return c.k[l][off : off+c.kvd], c.v[l][off : off+c.kvd]
}

// kvSegment is a contiguous run of n positions' keys and values.
type kvSegment struct {
	k, v []float32
	n    int
}

// segments returns positions [0, n) of layer l as at most two runs.
func (c *kvCache) segments(l, n int) [2]kvSegment {
	var out [2]kvSegment
	if c.parent == nil {
		out[0] = kvSegment{c.k[l], c.v[l], n}
		return out
	}
	b := min(n, c.base)
	out[0] = kvSegment{c.parent.k[l], c.parent.v[l], b}
	out[1] = kvSegment{c.k[l], c.v[l], n - b}
	return out
}

// step is one token to push through the model: its id, its position and the
// cache of the sequence it belongs to.
type step struct {
	token int
	pos   int
	cache *kvCache
}

// workspace is the scratch memory of one forward pass, sized for up to rows
// tokens at a time; one per request, never shared.
type workspace struct {
	rows                  int
	x, xn, qkv, att, h, g []float32
	logits                []float32
	scores                [][]float32 // per worker
	pre                   []float32   // attentionPrefill scratch
	workers               int
}

func (m *Model) newWorkspace(rows, logitRows int) *workspace {
	c := m.Config
	hd := c.HeadDim()
	qkvd := (c.NHeads + 2*c.NKVHeads) * hd
	w := &workspace{
		rows:    rows,
		x:       make([]float32, rows*c.Dim),
		xn:      make([]float32, rows*c.Dim),
		qkv:     make([]float32, rows*qkvd),
		att:     make([]float32, rows*c.NHeads*hd),
		h:       make([]float32, rows*2*c.FFNDim),
		g:       make([]float32, rows*c.FFNDim),
		logits:  make([]float32, logitRows*c.VocabSize),
		workers: max(1, runtime.GOMAXPROCS(0)),
	}
	w.scores = make([][]float32, w.workers)
	for i := range w.scores {
		w.scores[i] = make([]float32, c.MaxSeqLen)
	}
	return w
}

func rmsNorm(dst, x, w []float32, eps float64) {
	var ss float64
	for _, v := range x {
		ss += float64(v) * float64(v)
	}
	inv := float32(1 / math.Sqrt(ss/float64(len(x))+eps))
	for i, v := range x {
		dst[i] = v * inv * w[i]
	}
}

// forward runs steps through the model, writing their keys and values into
// their caches, and returns the logits of the steps listed in logitsFor
// (indexes into steps), one row of VocabSize each, in that order. Steps of
// one sequence must come in position order; a step sees every earlier
// position of its own cache, including ones written by this same call.
func (m *Model) forward(ws *workspace, steps []step, logitsFor []int) []float32 {
	c := m.Config
	R := len(steps)
	if R > ws.rows || len(logitsFor)*c.VocabSize > len(ws.logits) {
		panic("local: workspace too small for this forward pass")
	}
	dim, hd := c.Dim, c.HeadDim()
	qd, kvd := c.NHeads*hd, c.NKVHeads*hd
	qkvd := qd + 2*kvd
	half := hd / 2
	for r, s := range steps {
		m.emb.rowTo(ws.x[r*dim:(r+1)*dim], s.token)
	}
	prefill := isPrefill(steps)
	for l := range m.layers {
		L := &m.layers[l]
		for r := 0; r < R; r++ {
			rmsNorm(ws.xn[r*dim:(r+1)*dim], ws.x[r*dim:(r+1)*dim], L.attnNorm, c.NormEps)
		}
		matmulT(R, ws.xn, L.wqkv, ws.qkv, false)
		for r, s := range steps {
			row := ws.qkv[r*qkvd : (r+1)*qkvd]
			cos := m.cos[s.pos*half : (s.pos+1)*half]
			sin := m.sin[s.pos*half : (s.pos+1)*half]
			for h := 0; h < c.NHeads+c.NKVHeads; h++ {
				rope(row[h*hd:(h+1)*hd], cos, sin)
			}
			k, v := s.cache.at(l, s.pos)
			copy(k, row[qd:qd+kvd])
			copy(v, row[qd+kvd:qkvd])
		}
		if prefill {
			m.attentionPrefill(ws, steps, l)
		} else {
			m.attention(ws, steps, l)
		}
		matmulT(R, ws.att, L.wo, ws.x, true)
		for r := 0; r < R; r++ {
			rmsNorm(ws.xn[r*dim:(r+1)*dim], ws.x[r*dim:(r+1)*dim], L.ffnNorm, c.NormEps)
		}
		ffn := c.FFNDim
		matmulT(R, ws.xn, L.w13, ws.h, false)
		if prefill {
			// A prefill's exps are worth spreading (the portable expf is
			// a few percent of it); a decode step's few rows are not.
			parallelFor(R, func(r int) { silu(ws, ffn, r) })
		} else {
			for r := 0; r < R; r++ {
				silu(ws, ffn, r)
			}
		}
		matmulT(R, ws.g, L.w2, ws.x, true)
	}
	n := len(logitsFor)
	for i, r := range logitsFor {
		rmsNorm(ws.xn[i*dim:(i+1)*dim], ws.x[r*dim:(r+1)*dim], m.norm, c.NormEps)
	}
	if n == 0 {
		return nil
	}
	matmulT(n, ws.xn, m.emb, ws.logits, false)
	return ws.logits[:n*c.VocabSize]
}

// silu writes row r of ws.g: silu(gate) * up, from row r of ws.h.
func silu(ws *workspace, ffn, r int) {
	h := ws.h[r*2*ffn : (r+1)*2*ffn]
	g := ws.g[r*ffn : (r+1)*ffn]
	for i := range g {
		g[i] = -h[i]
	}
	expSlice(g)
	for i := range g {
		g[i] = h[i] / (1 + g[i]) * h[ffn+i]
	}
}

// rope rotates one head vector in place, "rotate-half" convention: pairs
// (v[j], v[j+hd/2]).
func rope(v, cos, sin []float32) {
	half := len(v) / 2
	for j := 0; j < half; j++ {
		a, b := v[j], v[j+half]
		// Each product rounded on its own: arm64 would otherwise fuse one
		// of them into the add and differ from amd64.
		v[j] = float32(a*cos[j]) - float32(b*sin[j])
		v[j+half] = float32(b*cos[j]) + float32(a*sin[j])
	}
}

// attention fills ws.att with causal attention of every step over its own
// sequence, spreading (step, head) pairs over the workers.
func (m *Model) attention(ws *workspace, steps []step, l int) {
	c := m.Config
	hd := c.HeadDim()
	qd, kvd := c.NHeads*hd, c.NKVHeads*hd
	qkvd := qd + 2*kvd
	group := c.NHeads / c.NKVHeads
	scale := float32(1 / math.Sqrt(float64(hd)))
	tasks := len(steps) * c.NHeads
	work := func(worker int) {
		scores := ws.scores[worker]
		for t := worker; t < tasks; t += ws.workers {
			r, h := t/c.NHeads, t%c.NHeads
			s := steps[r]
			q := ws.qkv[r*qkvd+h*hd : r*qkvd+(h+1)*hd]
			kvo := (h / group) * hd
			mx := float32(math.Inf(-1))
			// Keys and values live in at most two contiguous runs: the
			// prompt's cache, then the sample's own.
			kvd := s.cache.kvd
			n := s.pos + 1
			segs := s.cache.segments(l, n)
			p := 0
			for _, sg := range segs {
				for i := 0; i < sg.n; i++ {
					sc := dot(q, sg.k[i*kvd+kvo:i*kvd+kvo+hd]) * scale
					scores[p] = sc
					mx = max(mx, sc)
					p++
				}
			}
			inv := 1 / expShifted(scores[:n], mx)
			out := ws.att[r*qd+h*hd : r*qd+(h+1)*hd]
			clear(out)
			p = 0
			for _, sg := range segs {
				for i := 0; i < sg.n; i++ {
					axpy(scores[p]*inv, sg.v[i*kvd+kvo:i*kvd+kvo+hd], out)
					p++
				}
			}
		}
	}
	if ws.workers == 1 || tasks < 2 {
		work(0)
		return
	}
	var wg sync.WaitGroup
	for w := 1; w < ws.workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work(w)
		}()
	}
	work(0)
	wg.Wait()
}

// dot is a·b in the kernels' order (8 lanes, then the k%8 tail), so the
// attention scores are the same on every path.
func dot(a, b []float32) float32 {
	k8 := len(a) &^ 7
	var s float32
	if k8 > 0 {
		if useAsm {
			s = dotTile1x1(&a[0], &b[0], k8)
		} else {
			s = goDot8(a, b, k8)
		}
	}
	if k8 < len(a) {
		var t float32
		for i := k8; i < len(a); i++ {
			t += float32(a[i] * b[i])
		}
		s += t
	}
	return s
}

// axpy is y += alpha·x with each product rounded before the add (the
// conversion keeps arm64 from fusing them), as on amd64.
func axpy(alpha float32, x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += float32(alpha * v)
	}
}

// isPrefill reports whether steps are a run of consecutive positions of one
// sequence that has no shared prefix, long enough for attention by matmul.
func isPrefill(steps []step) bool {
	if len(steps) < 16 || steps[0].cache.parent != nil {
		return false
	}
	for i, s := range steps {
		if s.cache != steps[0].cache || s.pos != steps[0].pos+i {
			return false
		}
	}
	return true
}

// attentionPrefill is causal attention for a prefill, as two matmuls per
// head (scores = Q·Kᵀ, then out = P·V) on the same kernels as the
// projections, instead of one dot product per (query, key) pair.
func (m *Model) attentionPrefill(ws *workspace, steps []step, l int) {
	c := m.Config
	hd := c.HeadDim()
	qd, kvd := c.NHeads*hd, c.NKVHeads*hd
	qkvd := qd + 2*kvd
	group := c.NHeads / c.NKVHeads
	R := len(steps)
	pos0 := steps[0].pos
	n := pos0 + R
	cache := steps[0].cache
	need := R*n + n*hd*2 + R*hd*2
	if cap(ws.pre) < need {
		ws.pre = make([]float32, need)
	}
	buf := ws.pre[:need]
	S, buf := buf[:R*n], buf[R*n:]
	K, buf := buf[:n*hd], buf[n*hd:]
	VT, buf := buf[:n*hd], buf[n*hd:]
	Q, O := buf[:R*hd], buf[R*hd:]
	scale := float32(1 / math.Sqrt(float64(hd)))
	for g := 0; g < c.NKVHeads; g++ {
		kv := cache.k[l]
		vv := cache.v[l]
		for p := 0; p < n; p++ {
			copy(K[p*hd:(p+1)*hd], kv[p*kvd+g*hd:p*kvd+(g+1)*hd])
			for d := 0; d < hd; d++ {
				VT[d*n+p] = vv[p*kvd+g*hd+d]
			}
		}
		for h := g * group; h < (g+1)*group; h++ {
			for r := 0; r < R; r++ {
				copy(Q[r*hd:(r+1)*hd], ws.qkv[r*qkvd+h*hd:r*qkvd+(h+1)*hd])
			}
			matmulT(R, Q, mat{out: n, in: hd, f: K}, S, false)
			parallelFor(R, func(r int) {
				row := S[r*n : (r+1)*n]
				lim := pos0 + r + 1
				mx := float32(math.Inf(-1))
				for p := 0; p < lim; p++ {
					row[p] *= scale
					mx = max(mx, row[p])
				}
				inv := 1 / expShifted(row[:lim], mx)
				for p := 0; p < lim; p++ {
					row[p] *= inv
				}
				clear(row[lim:])
			})
			matmulT(R, S, mat{out: hd, in: n, f: VT}, O, false)
			for r := 0; r < R; r++ {
				copy(ws.att[r*qd+h*hd:r*qd+(h+1)*hd], O[r*hd:(r+1)*hd])
			}
		}
	}
}
