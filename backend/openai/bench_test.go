package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/backend/vllmtest"
	"github.com/twinkle-sh/twinkle/backend/wire"
	"github.com/twinkle-sh/twinkle/params"
)

const (
	benchSamples = 8
	benchTokens  = 2000
	benchTop     = 5
)

// recordStream captures the bytes vllmtest sends for 8 samples x 2,000 tokens with top-5
// chat logprobs, one token per chunk, as vLLM streams by default.
func recordStream(b *testing.B) []byte { return recordAPI(b, params.Chat) }

// recordAPI is recordStream for either endpoint.
func recordAPI(b *testing.B, api params.API) []byte {
	b.Helper()
	srv := vllmtest.New()
	defer srv.Close()
	var samples []vllmtest.Sample
	for i := range benchSamples {
		s := vllmtest.Generate(1, new(int64(i)), new(benchTokens), nil, nil)[0]
		samples = append(samples, s)
	}
	srv.Push(vllmtest.Script{Samples: samples})
	req := benchRequest(api)
	body, err := Body(api, "m", req.Messages, req.Prompt, req.Params, req.Options, true)
	if err != nil {
		b.Fatal(err)
	}
	path := "/completions"
	if api == params.Chat {
		path = "/chat/completions"
	}
	resp, err := http.Post(srv.URL+path, "application/json", bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil || !bytes.HasSuffix(raw, []byte("data: [DONE]\n\n")) {
		b.Fatalf("recording failed: %v", err)
	}
	return raw
}

func benchParams() params.SamplingParams {
	p := params.Default()
	p.Temperature = 0.8
	return p
}

// benchRequest is the recorded run: 8 samples with top-5 logprobs.
func benchRequest(api params.API) backend.Request {
	r := backend.Request{API: api, Model: "m", Params: benchParams(), Options: params.Options{N: benchSamples, Logprobs: new(benchTop)}}
	if api == params.Chat {
		r.Messages = []backend.Message{{Role: "user", Content: "Once upon a time"}}
	} else {
		r.Prompt = "Once upon a time"
	}
	return r
}

// memDoer answers every request with the recorded stream, in memory.
type memDoer struct{ body []byte }

func (m memDoer) Do(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/event-stream"}},
		Body: io.NopCloser(bytes.NewReader(m.body)), Request: r}, nil
}

func tokensOf(b *testing.B, a *backend.Assembler) int {
	n := 0
	for i := range a.Len() {
		n += len(a.Tokens(i))
	}
	if n != benchSamples*benchTokens {
		b.Fatalf("assembled %d tokens, want %d", n, benchSamples*benchTokens)
	}
	return n
}

// BenchmarkIngest is the whole client path on a recorded stream: SSE decoding, chunk
// decoding, token building (interning, sorting top), events through the Emitter's
// channel, and the Assembler.
func BenchmarkIngest(b *testing.B) { benchIngest(b, params.Chat) }

// BenchmarkIngestCompletion is BenchmarkIngest for /v1/completions, whose top_logprobs
// are one ordered JSON object per token (wire.TopMap).
func BenchmarkIngestCompletion(b *testing.B) { benchIngest(b, params.Completion) }

func benchIngest(b *testing.B, api params.API) {
	raw := recordAPI(b, api)
	c, err := New(Config{BaseURL: "http://mem/v1", Model: "m", HTTPClient: memDoer{raw}})
	if err != nil {
		b.Fatal(err)
	}
	req := benchRequest(api)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	var a *backend.Assembler
	for b.Loop() {
		ch, err := c.Start(context.Background(), req)
		if err != nil {
			b.Fatal(err)
		}
		a = backend.NewAssembler(req)
		for ev := range ch {
			a.Apply(ev)
		}
	}
	reportPerToken(b, tokensOf(b, a))
}

// BenchmarkIngestDecode is the same without the goroutines and channel: SSE, decode,
// token building and the Assembler, in one loop.
func BenchmarkIngestDecode(b *testing.B) {
	raw := recordStream(b)
	req := backend.Request{API: params.Chat, Messages: []backend.Message{{Role: "user", Content: "x"}}, Params: benchParams(), Options: params.Options{N: benchSamples, Logprobs: new(benchTop)}}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	var a *backend.Assembler
	for b.Loop() {
		a = ingest(b, raw, req)
	}
	reportPerToken(b, tokensOf(b, a))
}

func ingest(b *testing.B, raw []byte, req backend.Request) *backend.Assembler {
	a := backend.NewAssembler(req)
	sse := wire.NewSSEReader(bytes.NewReader(raw))
	d := newDecoder(true, true)
	for {
		ev, err := sse.Next()
		if err != nil {
			break
		}
		if string(ev.Data) == "[DONE]" {
			break
		}
		if err := d.decode(ev.Data); err != nil {
			b.Fatal(err)
		}
		for _, ch := range d.choices {
			a.Apply(backend.Event{Kind: backend.EventTokens, Sample: ch.index, Text: ch.text, Tokens: ch.tokens})
		}
	}
	return a
}

// BenchmarkFloorGoOpenAI is the floor: only json.Unmarshal of the same events into
// go-openai's ChatCompletionStreamResponse (events pre-split, no SSE, no assembly).
func BenchmarkFloorGoOpenAI(b *testing.B) {
	raw := recordStream(b)
	var events [][]byte
	for _, part := range strings.Split(string(raw), "\n\n") {
		if d, ok := strings.CutPrefix(part, "data: "); ok && d != "[DONE]" {
			events = append(events, []byte(d))
		}
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		for _, e := range events {
			var r goopenai.ChatCompletionStreamResponse
			if err := json.Unmarshal(e, &r); err != nil {
				b.Fatal(err)
			}
		}
	}
	reportPerToken(b, benchSamples*benchTokens)
}

func reportPerToken(b *testing.B, tokens int) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(tokens), "ns/token")
	b.ReportMetric(0, "ns/op")
	var _ = runtime.NumGoroutine
}

// BenchmarkRetained reports the heap an assembled run keeps per token (text, logprob, 5
// alternatives): interned strings and slab-allocated alternatives keep it small.
func BenchmarkRetained(b *testing.B) {
	raw := recordStream(b)
	req := backend.Request{API: params.Chat, Messages: []backend.Message{{Role: "user", Content: "x"}}, Params: benchParams(), Options: params.Options{N: benchSamples, Logprobs: new(benchTop)}}
	var per float64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		a := ingest(b, raw, req)
		runtime.GC()
		runtime.ReadMemStats(&after)
		per = float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(tokensOf(b, a))
		runtime.KeepAlive(a)
	}
	b.ReportMetric(per, "retained-B/token")
	b.ReportMetric(0, "ns/op")
}
