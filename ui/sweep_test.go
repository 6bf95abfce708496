package ui

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	bt "charm.land/bubbletea/v2"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/backend/local"
	"github.com/twinkle-sh/twinkle/backend/localserver"
	"github.com/twinkle-sh/twinkle/backend/openai"
	"github.com/twinkle-sh/twinkle/backend/vllmtest"
	"github.com/twinkle-sh/twinkle/params"
	"github.com/twinkle-sh/twinkle/store"
)

// typeSweep opens the sweep dialog, types the axes and presses enter.
func typeSweep(t *testing.T, m *Model, axes ...string) bt.Cmd {
	t.Helper()
	drive(t, m, press(m, "ctrl+g"))
	if _, ok := m.overlay.front().(*sweepDialog); !ok {
		t.Fatalf("ctrl+g opened no sweep dialog; screen:\n%s", plainScreen(m))
	}
	for i, a := range axes {
		if i > 0 {
			drive(t, m, press(m, "tab"))
		}
		m.Update(bt.PasteMsg{Content: a})
	}
	_, cmd := m.Update(keyMsg("enter"))
	return cmd
}

// bodyFields decodes each request body sent to the completions endpoint.
func bodyFields(t *testing.T, bodies [][]byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, b := range bodies {
		var f map[string]any
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatalf("body %s: %v", b, err)
		}
		out = append(out, f)
	}
	return out
}

// checkSweepBodies checks that the bodies carry exactly the swept values,
// one request each, and all the same seed.
func checkSweepBodies(t *testing.T, bodies []map[string]any, key string, want []float64, seed float64) {
	t.Helper()
	if len(bodies) != len(want) {
		t.Fatalf("%d requests, want %d", len(bodies), len(want))
	}
	var got []float64
	for _, b := range bodies {
		v, ok := b[key].(float64)
		if !ok {
			t.Fatalf("a body has no %s: %v", key, b)
		}
		got = append(got, v)
		if b["seed"] != seed {
			t.Errorf("seed %v, want the shared %v", b["seed"], seed)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("%s sent %v, want exactly %v", key, got, want)
	}
}

func TestSweepSendsTheSweptValuesWithOneSeed(t *testing.T) {
	t.Parallel()
	m, srv := serverModel(t, 160, 48, func(c *Config) { c.Options.N = 1 })
	driveUntil(t, m, typeSweep(t, m, "temperature=0.3..1.2:0.3"), allDone(m))
	var bodies [][]byte
	for _, r := range srv.Requests() {
		if r.Method == http.MethodPost {
			bodies = append(bodies, r.Body)
		}
	}
	checkSweepBodies(t, bodyFields(t, bodies), "temperature", []float64{0.3, 0.6, 0.9, 1.2}, 2000)
	if len(m.samples.cols) != 4 {
		t.Fatalf("%d columns, want one per variant", len(m.samples.cols))
	}
	for i, want := range []string{"temperature=0.3", "temperature=0.6", "temperature=0.9", "temperature=1.2"} {
		if got := m.samples.cols[i].Label; got != want {
			t.Errorf("column %d headed %q, want %q", i, got, want)
		}
	}
	if !strings.Contains(plainScreen(m), "temperature=0.9") {
		t.Errorf("the headers do not show the swept values:\n%s", plainScreen(m))
	}
}

func TestSweepOwnSeeds(t *testing.T) {
	t.Parallel()
	m, srv := serverModel(t, 160, 48, func(c *Config) { c.Options.N = 2 })
	drive(t, m, press(m, "ctrl+g"))
	m.Update(bt.PasteMsg{Content: "top_p=0.5,0.9"})
	drive(t, m, press(m, "tab", "tab", "space"))
	_, cmd := m.Update(keyMsg("enter"))
	driveUntil(t, m, cmd, allDone(m))
	var seeds []float64
	for _, f := range srv.Requests() {
		if f.Method == http.MethodPost {
			var b map[string]any
			_ = json.Unmarshal(f.Body, &b)
			seeds = append(seeds, b["seed"].(float64))
		}
	}
	slices.Sort(seeds)
	// Two samples a variant: variant 1's seeds follow variant 0's.
	if !slices.Equal(seeds, []float64{2000, 2002}) {
		t.Errorf("seeds %v, want 2000 and 2002", seeds)
	}
}

func TestSweepDialogKeepsWhatWasTyped(t *testing.T) {
	t.Parallel()
	m, srv := serverModel(t, 120, 40, nil)
	cmd := typeSweep(t, m, "temprature=0,1")
	drive(t, m, cmd)
	d, ok := m.overlay.front().(*sweepDialog)
	if !ok {
		t.Fatal("a bad sweep closed the dialog")
	}
	if d.inputs[0].Value() != "temprature=0,1" || len(d.problems) == 0 || !strings.Contains(d.problems[0], "not a parameter") {
		t.Errorf("input %q, problems %q", d.inputs[0].Value(), d.problems)
	}
	if !strings.Contains(plainScreen(m), "temprature is not a parameter") {
		t.Errorf("the problem is not shown:\n%s", plainScreen(m))
	}
	for _, r := range srv.Requests() {
		if r.Method == http.MethodPost {
			t.Fatal("a bad sweep was sent")
		}
	}
	// A grid too large is refused with both axes named.
	d.inputs[0].SetValue("temperature=0,0.2,0.4,0.6,0.8")
	d.inputs[1].SetValue("top_p=0.5,0.9")
	m.Update(keyMsg("enter"))
	if len(d.problems) == 0 || !strings.Contains(d.problems[0], "4 x 4") {
		t.Errorf("problems %q", d.problems)
	}
}

// recording is a RoundTripper that keeps the request bodies it passes on.
type recording struct {
	next   http.RoundTripper
	mu     sync.Mutex
	bodies [][]byte
}

func (r *recording) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil && req.Method == http.MethodPost {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		r.mu.Lock()
		r.bodies = append(r.bodies, b)
		r.mu.Unlock()
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	return r.next.RoundTrip(req)
}

func TestSweepGridOnTheBuiltInModel(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the built-in model")
	}
	t.Parallel()
	lm, err := local.Load()
	if err != nil {
		t.Fatal(err)
	}
	rec := &recording{next: localserver.NewClient(lm, localserver.Options{}).Transport}
	cl, err := openai.New(openai.Config{BaseURL: "http://twinkle.local/v1", Model: local.DefaultModelName, HTTPClient: &http.Client{Transport: rec}, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	p := params.Default()
	mt, lp := 6, 3
	p.MaxTokens = &mt
	seed := int64(700)
	m := New(Config{Context: ctx, Sampler: cl, Endpoint: "local", Model: local.DefaultModelName, API: params.Completion, Params: p,
		Options: params.Options{N: 1, Logprobs: &lp}, Prompt: "Once upon a time", IsDark: true,
		Now: time.Now, NewSeed: func() int64 { return seed }})
	m.Update(bt.WindowSizeMsg{Width: 200, Height: 60})
	driveUntil(t, m, typeSweep(t, m, "temperature=0.5,1", "top_p=0.5,0.8"), allDone(m))
	rec.mu.Lock()
	bodies := bodyFields(t, rec.bodies)
	rec.mu.Unlock()
	if len(bodies) != 4 {
		t.Fatalf("%d requests, want 4", len(bodies))
	}
	var cells []string
	for _, b := range bodies {
		if b["seed"] != float64(700) {
			t.Errorf("seed %v, want 700", b["seed"])
		}
		cells = append(cells, jsonNum(b["temperature"])+"/"+jsonNum(b["top_p"]))
	}
	slices.Sort(cells)
	if want := []string{"0.5/0.5", "0.5/0.8", "1/0.5", "1/0.8"}; !slices.Equal(cells, want) {
		t.Errorf("cells sent %v, want %v", cells, want)
	}
	if m.samples.grid.PerRow != 2 {
		t.Errorf("the grid has %d columns a row, want one row per temperature (2)", m.samples.grid.PerRow)
	}
	for i, c := range m.samples.cols {
		if c.Reason.Failed() {
			t.Errorf("column %d failed: %v", i, c.Err)
		}
	}
}

func jsonNum(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestGoldenSweep(t *testing.T) {
	t.Parallel()
	t.Run("1d_120x40", func(t *testing.T) {
		m, _ := serverModel(t, 120, 40, func(c *Config) { c.Options.N = 1 })
		driveUntil(t, m, typeSweep(t, m, "temperature=0..1.5:0.5"), allDone(m))
		checkGolden(t, m)
	})
	t.Run("grid_200x60", func(t *testing.T) {
		m, _ := serverModel(t, 200, 60, func(c *Config) { c.Options.N = 1 })
		driveUntil(t, m, typeSweep(t, m, "temperature=0.5,1", "top_p=0.5,0.8,1"), allDone(m))
		if m.samples.grid.PerRow != 3 || m.samples.grid.Rows != 2 {
			t.Errorf("grid %dx%d, want 2 rows (temperature) of 3 (top_p)", m.samples.grid.Rows, m.samples.grid.PerRow)
		}
		checkGolden(t, m)
	})
	t.Run("dialog_80x24", func(t *testing.T) {
		m, _ := serverModel(t, 80, 24, nil)
		drive(t, m, press(m, "ctrl+g"))
		m.Update(bt.PasteMsg{Content: "temperature=0..9:1"})
		m.Update(keyMsg("enter"))
		checkGolden(t, m)
	})
}

// Sparklines and statistics under each column, ranked by mean logprob, with
// the inspector's cursor a few tokens in.
func TestGoldenSparklines(t *testing.T) {
	t.Parallel()
	for _, sz := range []struct{ w, h int }{{80, 24}, {200, 60}} {
		t.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(t *testing.T) {
			m, _ := serverModel(t, sz.w, sz.h, func(c *Config) {
				lp, mt := 5, 40
				c.Options.Logprobs, c.Params.MaxTokens = &lp, &mt
			})
			driveUntil(t, m, m.startRun(), allDone(m))
			m.setFocus(focusSamples)
			drive(t, m, press(m, "o", "i", "right", "right", "right"))
			if !m.samples.stats || m.samples.rank != rankLogprob {
				t.Fatalf("stats %v rank %v", m.samples.stats, m.samples.rank)
			}
			checkGolden(t, m)
		})
	}
}

// esc stops every variant of a sweep at once, keeping the text each had.
func TestSweepCancelStopsEveryVariant(t *testing.T) {
	t.Parallel()
	m, srv := serverModel(t, 160, 48, func(c *Config) { c.Options.N = 1 })
	f := vllmtest.NoFault()
	f.StallAt = 2
	srv.SetDefault(vllmtest.Script{Fault: &f})
	d := driveUntil(t, m, typeSweep(t, m, "temperature=0.5,1,1.5"), func() bool {
		for _, c := range m.samples.cols {
			if c.TokenCount() < 1 {
				return false
			}
		}
		return len(m.samples.cols) == 3
	})
	d.until(press(m, "esc"), func() bool { return m.run.done })
	for i, c := range m.samples.cols {
		if c.Badge() != "cancelled" || c.TokenCount() < 1 {
			t.Errorf("column %d: %s with %d tokens", i, c.Badge(), c.TokenCount())
		}
	}
}

// A saved sweep reopens with the swept values heading its columns.
func TestSessionKeepsTheSweepLabels(t *testing.T) {
	t.Parallel()
	m, _ := serverModel(t, 160, 48, func(c *Config) { c.Options.N = 1 })
	driveUntil(t, m, typeSweep(t, m, "temperature=0.3,0.9"), allDone(m))
	s := m.snapshot()
	path := filepath.Join(t.TempDir(), "s.json")
	if err := store.SaveSession(path, &s); err != nil {
		t.Fatal(err)
	}
	back, err := store.LoadSession[backend.SampleResponse](path)
	if err != nil {
		t.Fatal(err)
	}
	m2 := newTestModel(t, &fakeSampler{}, 160, 48)
	m2.showSession(back, path)
	if len(m2.samples.cols) != 2 {
		t.Fatalf("%d columns restored, want 2", len(m2.samples.cols))
	}
	for i, want := range []string{"temperature=0.3", "temperature=0.9"} {
		if got := m2.samples.cols[i].Label; got != want {
			t.Errorf("restored column %d headed %q, want %q", i, got, want)
		}
	}
	if !strings.Contains(plainScreen(m2), "temperature=0.9") {
		t.Errorf("the restored headers do not show the swept values:\n%s", plainScreen(m2))
	}
	// Labels that do not match the samples are refused, naming the field.
	back.Labels = back.Labels[:1]
	if err := store.SaveSession(path, back); err != nil {
		t.Fatal(err)
	}
	if _, err := store.LoadSession[backend.SampleResponse](path); err == nil || !strings.Contains(err.Error(), "field labels") {
		t.Fatalf("mismatched labels: %v", err)
	}
}
