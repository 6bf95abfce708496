//go:build unix

package serve

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/twinkle-sh/twinkle/backend/openai"
	"github.com/twinkle-sh/twinkle/backend/vllmtest"
	"github.com/twinkle-sh/twinkle/params"
)

// Load benchmark, loopback only: benchSessions SSH sessions (and 10, for
// comparison), each streaming
// benchSamples samples of benchTokens tokens from the vLLM-format test server
// at about 40 tokens/s per sample, all at once.
//
// It reports, per session: heap in use and CPU while idle (the clients run in
// the same process, so both are upper bounds for the server), bytes sent per
// token while streaming, and the latency from a token leaving the test server
// (its SSE chunk flushed) to the first SSH write carrying its text (median
// and p99), and CPU per token streamed (test server, clients and server
// together: what a core can carry).
//
//	go test ./serve -run '^$' -bench Serve -benchtime 1x
const (
	benchSessions = 50
	benchSamples  = 4
	benchTokens   = 64
	benchPace     = 6 * time.Millisecond // per chunk: one token of one sample
)

// marker is token k of sample i: unique in a session, so its first sight
// on each side can be timed.
func marker(i, k int) string { return fmt.Sprintf("%c%03d", 'a'+i, k) }

var markerRE = regexp.MustCompile(`[a-d][0-9]{3}`)

// sightings records when each (session, marker) was first seen.
type sightings struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

func (s *sightings) see(session string, p []byte, at time.Time) {
	ms := markerRE.FindAll(p, -1)
	if len(ms) == 0 {
		return
	}
	s.mu.Lock()
	for _, m := range ms {
		k := session + "/" + string(m)
		if _, ok := s.seen[k]; !ok {
			s.seen[k] = at
		}
	}
	s.mu.Unlock()
}

// pacedWriter slows the stream to a model's pace and notes when each token's
// chunk leaves.
type pacedWriter struct {
	http.ResponseWriter
	session string
	buf     []byte
	out     *sightings
}

func (w *pacedWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	return w.ResponseWriter.Write(p)
}

func (w *pacedWriter) Flush() {
	time.Sleep(benchPace)
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
	w.out.see(w.session, w.buf, time.Now())
	w.buf = w.buf[:0]
}

func BenchmarkServe(b *testing.B) {
	for _, n := range []int{10, benchSessions} {
		b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) { benchServe(b, n) })
	}
}

func benchServe(b *testing.B, sessions int) {
	left := &sightings{seen: map[string]time.Time{}}
	arrived := &sightings{seen: map[string]time.Time{}}
	samples := make([]vllmtest.Sample, benchSamples)
	for i := range samples {
		for k := range benchTokens {
			samples[i].Tokens = append(samples[i].Tokens, vllmtest.Tok{Text: " " + marker(i, k), Logprob: -0.1 - float64(k%7)/3, ID: 100 + k,
				Alts: []vllmtest.Alt{{Text: " x", Logprob: -3}}})
		}
		samples[i].Finish = "length"
	}
	model := vllmtest.NewHandler()
	model.SetDefault(vllmtest.Script{Samples: samples})
	httpSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req struct{ Prompt string }
		_ = json.Unmarshal(body, &req)
		r.Body = io.NopCloser(bytes.NewReader(body))
		model.ServeHTTP(&pacedWriter{ResponseWriter: w, session: req.Prompt, out: left}, r)
	}))
	defer httpSrv.Close()
	cl, err := openai.New(openai.Config{BaseURL: httpSrv.URL + "/v1", MaxRetries: -1})
	if err != nil {
		b.Fatal(err)
	}
	e := startEnvServer(b, func(s *Server) {
		s.onOutput = func(user string, p []byte, at time.Time) { arrived.see(user, p, at) }
	}, func(c *Config) {
		n, k := benchTokens, 5
		c.Sampler, c.Endpoint = cl, httpSrv.URL+"/v1"
		c.Params.MaxTokens, c.Options = &n, params.Options{N: benchSamples, Logprobs: &k}
		c.Caps = Caps{MaxTokens: benchTokens, Samples: benchSamples, Logprobs: 5}
		c.Limits.MaxRuns, c.Limits.MaxConns, c.Limits.MaxConnsPerIP = sessions, sessions+1, sessions+1
		c.Log = nil
	})

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	type viewer struct {
		name  string
		stdin io.Writer
		bytes atomic.Int64
		drawn chan struct{}
	}
	viewers := make([]*viewer, sessions)
	for i := range viewers {
		v := &viewer{name: fmt.Sprintf("s%02d", i), drawn: make(chan struct{})}
		viewers[i] = v
		s, err := e.dial(clientConfig(v.name, e.allowed))
		if err != nil {
			b.Fatal(err)
		}
		if err := s.RequestPty("xterm-256color", 40, 120, gossh.TerminalModes{}); err != nil {
			b.Fatal(err)
		}
		v.stdin, _ = s.StdinPipe()
		stdout, _ := s.StdoutPipe()
		if err := s.Shell(); err != nil {
			b.Fatal(err)
		}
		go func() {
			buf := make([]byte, 32<<10)
			var once sync.Once
			for {
				n, err := stdout.Read(buf)
				v.bytes.Add(int64(n))
				if v.bytes.Load() > 2000 {
					once.Do(func() { close(v.drawn) })
				}
				if err != nil {
					return
				}
			}
		}()
	}
	for _, v := range viewers {
		<-v.drawn
	}

	// Idle: the screens are drawn, nobody types.
	time.Sleep(500 * time.Millisecond)
	runtime.GC()
	var idle runtime.MemStats
	runtime.ReadMemStats(&idle)
	cpu0, wall0 := cpuTime(), time.Now()
	time.Sleep(3 * time.Second)
	idleCPU := (cpuTime() - cpu0).Seconds() / time.Since(wall0).Seconds()

	var latencies []time.Duration
	var perToken []float64
	missing := 0
	cpuRun := time.Duration(0)
	b.ResetTimer()
	for iter := range b.N {
		start := make([]int64, len(viewers))
		for i, v := range viewers {
			start[i] = v.bytes.Load()
			if iter > 0 {
				prev := fmt.Sprintf("%s-%d", v.name, iter-1)
				_, _ = io.WriteString(v.stdin, strings.Repeat("\x7f", len(prev))) // backspace it away
			}
			_, _ = io.WriteString(v.stdin, fmt.Sprintf("%s-%d", v.name, iter))
		}
		time.Sleep(50 * time.Millisecond)
		cpuStart := cpuTime()
		for _, v := range viewers {
			_, _ = io.WriteString(v.stdin, "\x12")
		}
		deadline := time.Now().Add(60 * time.Second)
		for _, v := range viewers {
			key := fmt.Sprintf("%s-%d/%s", v.name, iter, marker(benchSamples-1, benchTokens-1))
			for {
				left.mu.Lock()
				_, ok := left.seen[key]
				left.mu.Unlock()
				if ok || time.Now().After(deadline) {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
		time.Sleep(300 * time.Millisecond) // the last frames leave
		cpuRun += cpuTime() - cpuStart
		for i, v := range viewers {
			session := fmt.Sprintf("%s-%d", v.name, iter)
			perToken = append(perToken, float64(v.bytes.Load()-start[i])/(benchSamples*benchTokens))
			for s := range benchSamples {
				for k := range benchTokens {
					m := marker(s, k)
					left.mu.Lock()
					out, ok1 := left.seen[session+"/"+m]
					left.mu.Unlock()
					arrived.mu.Lock()
					in, ok2 := arrived.seen[v.name+"/"+m]
					delete(arrived.seen, v.name+"/"+m)
					arrived.mu.Unlock()
					if !ok1 || !ok2 || in.Before(out) {
						missing++
						continue
					}
					latencies = append(latencies, in.Sub(out))
				}
			}
		}
	}
	b.StopTimer()
	slices.Sort(latencies)
	slices.Sort(perToken)
	pct := func(p float64) float64 {
		if len(latencies) == 0 {
			return 0
		}
		return float64(latencies[min(len(latencies)-1, int(p*float64(len(latencies))))].Microseconds()) / 1000
	}
	tokens := float64(b.N * sessions * benchSamples * benchTokens)
	b.ReportMetric(float64(idle.HeapInuse-before.HeapInuse)/float64(sessions)/(1<<20), "MB-heap/idle-session")
	b.ReportMetric(100*idleCPU/float64(sessions), "%core/idle-session")
	b.ReportMetric(float64(cpuRun.Microseconds())/tokens, "cpu-µs/token")
	b.ReportMetric(perToken[len(perToken)/2], "bytes/token/session")
	b.ReportMetric(pct(0.5), "ms-p50")
	b.ReportMetric(pct(0.99), "ms-p99")
	b.ReportMetric(float64(missing)/tokens*100, "%tokens-unmatched")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
