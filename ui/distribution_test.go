package ui

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/backend/local"
	"github.com/twinkle-sh/twinkle/backend/localserver"
	"github.com/twinkle-sh/twinkle/backend/openai"
	"github.com/twinkle-sh/twinkle/params"
	"github.com/twinkle-sh/twinkle/store"
	"github.com/twinkle-sh/twinkle/ui/heatmap"
)

// builtInModel is the playground on the built-in model reached in-process, as
// `--endpoint local` runs it: raw logprobs with the processed ones beside.
func builtInModel(t *testing.T, w, h int, p params.SamplingParams, adv params.Advanced) *Model {
	t.Helper()
	lm, err := local.Load()
	if err != nil {
		t.Fatal(err)
	}
	cl, err := openai.New(openai.Config{BaseURL: "http://twinkle.local/v1", Model: local.DefaultModelName, MaxRetries: -1,
		HTTPClient: localserver.NewClient(lm, localserver.Options{Processed: true})})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	seed := int64(7)
	p.Seed = &seed
	lp := 6
	m := New(Config{Context: ctx, Sampler: cl, Endpoint: "local", Model: local.DefaultModelName, API: params.Completion,
		Prompt: "func main() {", Params: p, Options: params.Options{N: 1, Logprobs: &lp, Advanced: adv}, IsDark: true,
		Now: func() time.Time { return time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC) }, NewSeed: func() int64 { return 7 },
		Store: store.New(t.TempDir(), t.TempDir())})
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	return m
}

// The inspector with the built-in model: raw and processed side by side, the
// processed values exactly as drawn, the tokens the sampler cut marked.
func TestGoldenInspectorProcessed(t *testing.T) {
	p := params.Default()
	p.Temperature, p.TopK, p.MaxTokens = 0.7, 3, ptr(8)
	m := builtInModel(t, 160, 40, p, params.Advanced{MinP: 0.05})
	driveUntil(t, m, m.startRun(), allDone(m))
	m.setFocus(focusSamples)
	m.Update(keyMsg("i"))
	c := m.samples.cols[0]
	tok := c.tokens[c.Cursor]
	if tok.Processed == nil || len(tok.Processed.Top) != len(tok.Top) {
		t.Fatalf("no processed values: %+v", tok)
	}
	// The processed values are a distribution over at most top_k tokens.
	sum, kept := 0.0, 0
	for _, v := range tok.Processed.Top {
		if !math.IsInf(float64(v), -1) {
			sum += v.Prob()
			kept++
		}
	}
	if kept > 3 || kept < len(tok.Top) && math.Abs(sum-1) > 1e-3 && kept == 3 {
		t.Fatalf("kept %d summing to %v", kept, sum)
	}
	screen := plainScreen(m)
	for _, want := range []string{"raw p", "drawn p", "cut (−inf)", "drawn surprisal", "raw logprob"} {
		if !strings.Contains(screen, want) {
			t.Errorf("%q not on screen:\n%s", want, screen)
		}
	}
	checkGolden(t, m)
}

// The heatmap colours by the processed probability on p, and says so.
func TestHeatmapByProcessed(t *testing.T) {
	p := params.Default()
	p.Temperature, p.TopK, p.MaxTokens = 0.7, 3, ptr(8)
	m := builtInModel(t, 160, 40, p, params.Advanced{})
	m.setFocus(focusSamples)
	m.Update(keyMsg("p"))
	if m.c.HeatProcessed || !m.statusErr {
		t.Fatal("p with nothing processed on screen switched")
	}
	driveUntil(t, m, m.startRun(), allDone(m))
	m.Update(keyMsg("p"))
	if !m.c.HeatProcessed || !m.c.Painter.ByProcessed() {
		t.Fatal("p did not switch to processed")
	}
	if s := plainScreen(m); !strings.Contains(s, "processed, as drawn") {
		t.Fatalf("legend does not say processed:\n%s", s)
	}
	// A token's processed bucket, not its raw one, colours it.
	c := m.samples.cols[0]
	for i := range c.tokens {
		tok := &c.tokens[i]
		raw, _ := heatmap.Probability.Bucket(tok)
		proc, _ := heatmap.Probability.Bucket(&backend.Token{Logprob: tok.Processed.Logprob})
		if raw != proc {
			got := m.c.Painter.Render(tok, 0, "x")
			want := heatmap.NewPainter(m.c.Styles, heatmap.Probability, m.c.Profile).Paint(proc, true, 0, "x")
			if got != want {
				t.Fatalf("token %d coloured %q, want the processed bucket %d's %q", i, got, proc, want)
			}
			return
		}
	}
	t.Log("every token's raw and processed buckets agree: colour not compared")
}

// noteScript starts one sample in mode, finishes it, and says note twice.
func noteScript(mode backend.LogprobsMode, note string) func(backend.Request, *backend.Emitter, context.Context) {
	return func(req backend.Request, e *backend.Emitter, _ context.Context) {
		e.Emit(backend.Event{Kind: backend.EventStart, Start: &backend.StartInfo{Count: 1, Requested: 1, LogprobsMode: mode}})
		e.Emit(backend.Event{Kind: backend.EventTokens, Sample: 0, Text: "hi", Tokens: []backend.Token{{Text: "hi", Logprob: -0.1,
			Top: []backend.Alt{{Text: "hi", Logprob: -0.1}}}}})
		e.Emit(backend.Event{Kind: backend.EventFinish, Sample: 0, Reason: backend.StopLength})
		e.Emit(backend.Event{Kind: backend.EventNote, Text: note})
		e.Emit(backend.Event{Kind: backend.EventNote, Text: note})
		e.Emit(backend.Event{Kind: backend.EventDone})
	}
}

func TestRunSummarySaysTheNoteOnce(t *testing.T) {
	t.Parallel()
	m := newTestModel(t, &fakeSampler{script: noteScript(backend.RawLogprobs, "these look processed")}, 120, 40)
	drive(t, m, m.startRun())
	if strings.Count(m.status, "these look processed") != 1 || !strings.Contains(m.status, "note: ") {
		t.Fatalf("status %q", m.status)
	}
}

func TestLegendNamesTheModeShown(t *testing.T) {
	t.Parallel()
	m := newTestModel(t, &fakeSampler{script: noteScript(backend.ProcessedLogprobs, "")}, 200, 40)
	drive(t, m, m.startRun())
	if s := plainScreen(m); !strings.Contains(s, "processed logprobs: after penalties, temperature and truncation") {
		t.Fatalf("legend:\n%s", s)
	}
	// Logits are not probabilities: nothing is coloured, and the legend says why.
	m = newTestModel(t, &fakeSampler{script: noteScript(backend.RawLogits, "")}, 200, 40)
	drive(t, m, m.startRun())
	if m.c.Painter.Mode() != heatmap.Off || m.c.HeatMode == heatmap.Off {
		t.Fatalf("painter %v, chosen %v", m.c.Painter.Mode(), m.c.HeatMode)
	}
	if s := plainScreen(m); !strings.Contains(s, "raw_logits: logits, not probabilities, so nothing is coloured") {
		t.Fatalf("legend:\n%s", s)
	}
}

// The session file takes every mode the backend knows.
func TestSessionsTakeEveryLogprobsMode(t *testing.T) {
	t.Parallel()
	m := newTestModel(t, &fakeSampler{}, 120, 40)
	for _, mode := range backend.LogprobsModes {
		m.panel.SetMode(mode)
		s := m.snapshot()
		path := t.TempDir() + "/s.json"
		if err := store.SaveSession(path, &s); err != nil {
			t.Fatal(err)
		}
		if _, err := store.LoadSession[backend.SampleResponse](path); err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
	}
}
