package backend_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/backend/openai"
	"github.com/twinkle-sh/twinkle/backend/vllmtest"
	"github.com/twinkle-sh/twinkle/params"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func ip(v int) *int { return &v }

func TestEmitterNeverBlocksAndKeepsOrder(t *testing.T) {
	em, ch := backend.NewEmitter()
	const n = 100000
	for i := 0; i < n; i++ { // nobody is reading yet
		em.Emit(backend.Event{Kind: backend.EventTokens, Sample: i})
	}
	em.Emit(backend.Event{Kind: backend.EventDone})
	em.Close()
	i := 0
	for ev := range ch {
		if i < n && ev.Sample != i {
			t.Fatalf("event %d has sample %d", i, ev.Sample)
		}
		i++
	}
	if i != n+1 {
		t.Fatalf("got %d events, want %d", i, n+1)
	}
}

func TestCoalesce(t *testing.T) {
	tok := func(s int, text string) backend.Event {
		return backend.Event{Kind: backend.EventTokens, Sample: s, Text: text, Tokens: []backend.Token{{Text: text}}}
	}
	in := []backend.Event{tok(0, "a"), tok(0, "b"), tok(1, "x"), tok(0, "c"), {Kind: backend.EventFinish, Sample: 0}, tok(1, "y"), tok(1, "z"), {Kind: backend.EventDone}}
	out := backend.Coalesce(in)
	var got []string
	for _, ev := range out {
		got = append(got, ev.Kind.String()+":"+ev.Text+":"+itoa(len(ev.Tokens)))
	}
	want := "tokens:ab:2 tokens:x:1 tokens:c:1 finish::0 tokens:yz:2 done::0"
	if strings.Join(got, " ") != want {
		t.Errorf("Coalesce = %v, want %s", got, want)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestBridgeDeliversEverythingInFewUpdates(t *testing.T) {
	ch := make(chan backend.Event)
	const n = 2000
	go func() {
		for i := 0; i < n; i++ {
			ch <- backend.Event{Kind: backend.EventTokens, Sample: i % 2, Text: "t"}
			if i == n/2 {
				ch <- backend.Event{Kind: backend.EventFinish, Sample: 7, Reason: backend.StopStop}
			}
			if i%100 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
		ch <- backend.Event{Kind: backend.EventDone}
		close(ch)
	}()
	b := backend.NewBridge(ch, 20*time.Millisecond)
	updates, text, finishes, done := 0, 0, 0, false
	for {
		u, ok := b.Next(context.Background())
		if !ok {
			break
		}
		updates++
		for _, ev := range u.Events {
			switch ev.Kind {
			case backend.EventTokens:
				text += len(ev.Text)
			case backend.EventFinish:
				finishes++
			case backend.EventDone:
				done = true
			}
		}
		if u.Closed {
			if _, ok := b.Next(context.Background()); ok {
				t.Error("Next after the closed update returned ok")
			}
			break
		}
	}
	if text != n || finishes != 1 || !done {
		t.Errorf("delivered %d tokens, %d finishes, done %v; want %d, 1, true", text, finishes, done, n)
	}
	if updates > 40 {
		t.Errorf("%d updates for a stream of ~30ms at 20ms frames: not coalescing", updates)
	}
}

// fakeClock is a Bridge clock the test moves by hand; it reports every wait asked of it.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []fakeTimer
	waits  chan time.Duration
}

type fakeTimer struct {
	at time.Time
	c  chan time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), waits: make(chan time.Duration, 16)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) (<-chan time.Time, func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := fakeTimer{at: c.now.Add(d), c: make(chan time.Time, 1)}
	c.timers = append(c.timers, t)
	c.waits <- d
	return t.c, func() {}
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.timers[:0]
	for _, t := range c.timers {
		if t.at.After(c.now) {
			kept = append(kept, t)
			continue
		}
		t.c <- c.now
	}
	c.timers = kept
}

func TestBridgeRespectsTheFrameInterval(t *testing.T) {
	const frame = 50 * time.Millisecond
	clk := newFakeClock()
	ch := make(chan backend.Event)
	b := backend.NewBridgeClock(ch, frame, clk)
	type result struct {
		u  backend.Update
		ok bool
	}
	var done chan result
	next := func() chan result {
		r := make(chan result, 1)
		go func() {
			u, ok := b.Next(context.Background())
			r <- result{u, ok}
		}()
		return r
	}
	// got waits for the update; the fake clock never moves by itself, so an update stuck
	// waiting for the wrong instant would wait for ever.
	got := func(when string) result {
		t.Helper()
		select {
		case r := <-done:
			return r
		case <-time.After(10 * time.Second):
			t.Fatalf("%s never went out", when)
			return result{}
		}
	}
	tok := func(s string) backend.Event { return backend.Event{Kind: backend.EventTokens, Text: s} }
	wantWait := func(when string, want time.Duration) {
		t.Helper()
		select {
		case d := <-clk.waits:
			if d != want {
				t.Errorf("%s waits %v, want %v", when, d, want)
			}
		case r := <-done:
			t.Fatalf("%s went out without waiting: %+v", when, r.u)
		}
	}
	noWait := func(when string) {
		t.Helper()
		select {
		case d := <-clk.waits:
			t.Errorf("%s: the update waited %v, want at once", when, d)
		default:
		}
	}

	// Nothing came before: the first event goes out at once.
	done = next()
	ch <- tok("a")
	if r := got("the first update"); !r.ok || len(r.u.Events) != 1 || r.u.Events[0].Text != "a" {
		t.Fatalf("first update = %+v", r)
	}
	noWait("first update")

	// 10ms into the frame: the update waits for the rest of it, 40ms, collecting.
	clk.Advance(10 * time.Millisecond)
	done = next()
	ch <- tok("b")
	wantWait("an update 10ms into the frame", frame-10*time.Millisecond)
	select {
	case ch <- tok("c"):
	case r := <-done:
		t.Fatalf("the update went out before the frame ended: %+v", r.u)
	}
	clk.Advance(39 * time.Millisecond)
	select {
	case r := <-done:
		t.Fatalf("the update went out 1ms before the frame ended: %+v", r.u)
	default:
	}
	clk.Advance(time.Millisecond)
	if r := got("the update at the end of the frame"); !r.ok || len(r.u.Events) != 1 || r.u.Events[0].Text != "bc" || r.u.Closed {
		t.Errorf("second update = %+v, want b and c merged", r.u)
	}

	// An event after a frame has passed goes out at once.
	clk.Advance(frame + time.Millisecond)
	done = next()
	ch <- tok("d")
	if r := got("an update a frame after the last"); len(r.u.Events) != 1 || r.u.Events[0].Text != "d" {
		t.Errorf("third update = %+v", r.u)
	}
	noWait("an update a frame after the last")

	// One right after an update waits a whole frame; the channel closing ends it early.
	done = next()
	ch <- tok("e")
	wantWait("an update right after the last", frame)
	close(ch)
	if r := got("the closing update"); !r.ok || !r.u.Closed || len(r.u.Events) != 1 {
		t.Errorf("closing update = %+v, want e and closed", r.u)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, ok := backend.NewBridge(make(chan backend.Event), 0).Next(ctx); ok {
		t.Error("Next on a cancelled ctx returned ok")
	}
}

func TestLogprobAndStoppedByJSON(t *testing.T) {
	if backend.LogprobFromWire(-9999).Known() || !backend.LogprobFromWire(-3).Known() || backend.LogprobFromWire(math.Inf(-1)).Known() {
		t.Error("LogprobFromWire")
	}
	b, _ := json.Marshal([]backend.Logprob{-0.5, backend.Unknown()})
	if string(b) != "[-0.5,null]" {
		t.Errorf("logprobs JSON %s", b)
	}
	var back []backend.Logprob
	if json.Unmarshal(b, &back) != nil || back[1].Known() || back[0] != -0.5 {
		t.Errorf("logprobs back %v", back)
	}
	sb := []backend.StoppedBy{{Kind: backend.StoppedByString, String: "###"}, {Kind: backend.StoppedByToken, TokenID: 128009}, {Kind: backend.StoppedByEOS}, {}}
	b, _ = json.Marshal(sb)
	if string(b) != `["###",128009,"eos",null]` {
		t.Errorf("stopped_by JSON %s", b)
	}
	var sback []backend.StoppedBy
	if json.Unmarshal(b, &sback) != nil || sback[0] != sb[0] || sback[1] != sb[1] || sback[2] != sb[2] || sback[3] != sb[3] {
		t.Errorf("stopped_by back %+v", sback)
	}
	tok := backend.Token{Text: " a", Logprob: -1, ID: backend.NoTokenID, Top: []backend.Alt{{Text: " a", Logprob: -1}}}
	b, _ = json.Marshal(tok)
	if string(b) != `{"text":" a","logprob":-1,"top":[{"text":" a","logprob":-1}]}` {
		t.Errorf("token JSON %s", b)
	}
}

func TestAssemblerJSONContract(t *testing.T) {
	seed := int64(7)
	s8 := seed + 1
	req := backend.Request{API: params.Chat, Messages: []backend.Message{{Role: "user", Content: "hi"}}, Params: params.Default(), Options: params.Options{N: 2, Logprobs: ip(1), PromptLogprobs: ip(0)}}
	a := backend.NewAssembler(req)
	for _, ev := range []backend.Event{
		{Kind: backend.EventStart, Start: &backend.StartInfo{First: 0, Count: 2, Requested: 2, Model: "m", Params: params.Default(), Seeds: []*int64{&seed, &s8}}},
		{Kind: backend.EventTokens, Sample: 1, Text: " B", Tokens: []backend.Token{{Text: " B", Logprob: -2, ID: backend.NoTokenID, Top: []backend.Alt{{Text: " A", Logprob: -1}, {Text: " B", Logprob: -2}}}}},
		{Kind: backend.EventTokens, Sample: 0, Text: " Once", Tokens: []backend.Token{{Text: " Once", Logprob: -0.12, ID: backend.NoTokenID, Top: []backend.Alt{{Text: " Once", Logprob: -0.12}}}}},
		{Kind: backend.EventPromptLogprobs, Sample: 0, Count: 2, PromptTokens: []backend.Token{{Text: "hi", Logprob: backend.Unknown(), ID: 5}}, PromptAlignment: backend.PromptByID},
		{Kind: backend.EventFinish, Sample: 0, Reason: backend.StopStop, StoppedBy: backend.StoppedBy{Kind: backend.StoppedByString, String: "###"}},
		{Kind: backend.EventFinish, Sample: 1, Reason: backend.StopLength},
		{Kind: backend.EventUsage, Sample: 0, Count: 2, Usage: backend.Usage{PromptTokens: 5, CompletionTokens: 2, TotalTokens: 7}},
		{Kind: backend.EventDone},
	} {
		a.Apply(ev)
	}
	b, err := json.Marshal(a.Response())
	if err != nil {
		t.Fatal(err)
	}
	want := `{"trajectories":[{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":" Once"}]},{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":" B"}]}],` +
		`"logprobs":[[-0.12],[-2]],"prompt_logprobs":[[null],[null]],"stop_reason":["stop","length"],"stopped_by":["###",null],` +
		`"tokens":[[{"text":" Once","logprob":-0.12,"top":[{"text":" Once","logprob":-0.12}],"start":0,"end":5}],[{"text":" B","logprob":-2,"top":[{"text":" A","logprob":-1},{"text":" B","logprob":-2}],"start":0,"end":2}]],` +
		`"prompt_tokens":[[{"text":"hi","logprob":null,"id":5}],[{"text":"hi","logprob":null,"id":5}]],"prompt_alignment":["ids","ids"],"seeds":[7,8],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7},` +
		`"model":"m","params":` + mustJSON(params.Default()) + `,"logprobs_mode":"raw_logprobs"}`
	if string(b) != want {
		t.Errorf("got\n%s\nwant\n%s", b, want)
	}
	if !a.Done() || a.Err() != nil || a.Text(0) != " Once" || len(a.Tokens(1)) != 1 {
		t.Error("Assembler accessors")
	}
	// Not asked for: null.
	a2 := backend.NewAssembler(backend.Request{API: params.Completion, Prompt: "p", Params: params.Default()})
	a2.Apply(backend.Event{Kind: backend.EventFinish, Sample: 0, Reason: backend.StopLength})
	b, _ = json.Marshal(a2.Response())
	if !strings.Contains(string(b), `"logprobs":null,"prompt_logprobs":null`) || !strings.Contains(string(b), `"tokens":null`) || !strings.Contains(string(b), `{"role":"user","content":"p"}`) {
		t.Errorf("completion without logprobs: %s", b)
	}
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestEscapeUnsafeJSON(t *testing.T) {
	in, _ := json.Marshal(map[string]string{"t": "a\u202eb\u009bc\x1bd é"})
	out := backend.EscapeUnsafeJSON(in)
	if bytes.ContainsRune(out, 0x202e) || bytes.ContainsRune(out, 0x9b) || bytes.ContainsRune(out, 0x1b) {
		t.Errorf("unsafe runes left: %q", out)
	}
	var back map[string]string
	if json.Unmarshal(out, &back) != nil || back["t"] != "a\u202eb\u009bc\x1bd é" {
		t.Errorf("escaped JSON decodes to %q", back["t"])
	}
}

func newClient(t *testing.T, srv *vllmtest.Server) *openai.Client {
	c, err := openai.New(openai.Config{BaseURL: srv.URL, Sleep: func(ctx context.Context, d time.Duration) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The "done when": -n 3 --logprobs 5 --seed 7 --temperature 0.8 "Once upon a time".
func TestRunSampleDoneWhen(t *testing.T) {
	srv := vllmtest.New()
	defer srv.Close()
	p := params.Default()
	p.Seed = new(int64)
	*p.Seed = 7
	p.Temperature = 0.8
	req := backend.Request{API: params.Chat, Messages: []backend.Message{{Role: "user", Content: "Once upon a time"}}, Params: p, Options: params.Options{N: 3, Logprobs: ip(5)}}
	var out bytes.Buffer
	_, err := backend.RunSample(context.Background(), newClient(t, srv), req, false, &out)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Trajectories []backend.Trajectory `json:"trajectories"`
		Seeds        []int64              `json:"seeds"`
		StopReason   []string             `json:"stop_reason"`
		StoppedBy    []any                `json:"stopped_by"`
		Tokens       [][]struct {
			Top []struct{ Logprob float64 }
		} `json:"tokens"`
	}
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if len(r.Trajectories) != 3 || r.Seeds[0] != 7 || r.Seeds[1] != 8 || r.Seeds[2] != 9 {
		t.Errorf("trajectories %d seeds %v", len(r.Trajectories), r.Seeds)
	}
	if strings.Join(r.StopReason, ",") != "length,stop,length" || r.StoppedBy[1] != "eos" {
		t.Errorf("stop reasons %v stopped by %v, want the server's", r.StopReason, r.StoppedBy)
	}
	for i, toks := range r.Tokens {
		for j, tok := range toks {
			for k := 1; k < len(tok.Top); k++ {
				if tok.Top[k].Logprob > tok.Top[k-1].Logprob {
					t.Fatalf("sample %d token %d: top not sorted", i, j)
				}
			}
		}
	}
	body := srv.Requests()[1].Fields()
	for _, k := range []string{"n", "max_tokens", "temperature", "top_p", "top_k", "repetition_penalty", "seed", "stop", "stop_token_ids", "logprobs", "top_logprobs"} {
		if _, ok := body[k]; !ok {
			t.Errorf("request body lacks %s", k)
		}
	}
}

func TestRunSampleStreamLinesAndErrors(t *testing.T) {
	srv := vllmtest.New()
	defer srv.Close()
	req := backend.Request{API: params.Completion, Prompt: "x", Params: params.Default(), Options: params.Options{N: 2}}
	var out bytes.Buffer
	if _, err := backend.RunSample(context.Background(), newClient(t, srv), req, true, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	types := map[string]int{}
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		types[m["type"].(string)]++
	}
	if types["start"] != 1 || types["finish"] != 2 || types["done"] != 1 || types["tokens"] == 0 || types["usage"] != 1 || lines[len(lines)-1] != `{"type":"done"}` {
		t.Errorf("stream line types %v", types)
	}

	f := vllmtest.NoFault()
	f.Status, f.Message, f.Param = 400, "top_p must be in (0, 1], got 0.0.", nil
	srv.Push(vllmtest.Script{Fault: &f})
	out.Reset()
	_, err := backend.RunSample(context.Background(), newClient(t, srv), req, false, &out)
	if err == nil || !strings.Contains(err.Error(), "HTTP 400") || !strings.Contains(err.Error(), "top_p must be") || !strings.Contains(err.Error(), "2 samples failed") {
		t.Errorf("error = %v", err)
	}
	if !strings.Contains(out.String(), `"stop_reason":[`) {
		t.Errorf("the partial response was not printed: %s", out.String())
	}

	bad := params.Default()
	bad.TopP = 0
	out.Reset()
	_, err = backend.RunSample(context.Background(), newClient(t, srv), backend.Request{API: params.Chat, Messages: []backend.Message{{Role: "user", Content: "x"}}, Params: bad}, false, &out)
	var pe params.Errors
	if err == nil || out.Len() != 0 || !asErrors(err, &pe) || !pe.Has("top_p") {
		t.Errorf("validation: err %v, output %q", err, out.String())
	}
}

func asErrors(err error, pe *params.Errors) bool {
	e, ok := err.(params.Errors)
	*pe = e
	return ok
}

// A sweep's second variant can start after the first one's tokens arrived; the samples
// table grows then and must keep what it holds.
func TestAssemblerGrowsAfterTokens(t *testing.T) {
	req := backend.Request{API: params.Chat, Messages: []backend.Message{{Role: "user", Content: "x"}}, Variants: []params.SamplingParams{params.Default(), params.Default()}, Options: params.Options{N: 2}}
	a := backend.NewAssembler(req)
	a.Apply(backend.Event{Kind: backend.EventStart, Start: &backend.StartInfo{Variant: 0, First: 0, Count: 2, Requested: 2}})
	a.Apply(backend.Event{Kind: backend.EventTokens, Sample: 1, Text: "abc"})
	a.Apply(backend.Event{Kind: backend.EventStart, Start: &backend.StartInfo{Variant: 1, First: 2, Count: 2, Requested: 2}})
	a.Apply(backend.Event{Kind: backend.EventTokens, Sample: 1, Text: "def"})
	a.Apply(backend.Event{Kind: backend.EventTokens, Sample: 3, Text: "x"})
	if a.Text(1) != "abcdef" || a.Text(3) != "x" || a.Len() != 4 {
		t.Errorf("texts %q %q, len %d", a.Text(1), a.Text(3), a.Len())
	}
	if r := a.Response(); len(r.Variants) != 2 || r.Variants[1].First != 2 {
		t.Errorf("variants %+v", r.Variants)
	}
}

func TestRunEmitterGivesUpOnceTheRunIsDoneAndNobodyReads(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ctx, cancel := context.WithCancel(context.Background())
	em, ch := backend.NewRunEmitter(ctx, 20*time.Millisecond)
	em.Emit(backend.Event{Kind: backend.EventTokens, Text: "a"})
	if ev := <-ch; ev.Text != "a" {
		t.Fatalf("first event %+v", ev)
	}
	// The run is replaced: cancelled, and its consumer reads no more. A sampler that winds
	// down slowly goes on emitting for a while.
	cancel()
	for range 1000 {
		em.Emit(backend.Event{Kind: backend.EventTokens})
	}
	time.Sleep(50 * time.Millisecond)
	em.Emit(backend.Event{Kind: backend.EventFinish, Reason: backend.StopCancelled})
	em.Emit(backend.Event{Kind: backend.EventDone})
	em.Close() // the deferred goleak check fails if the delivery goroutine still waits
}

func TestRunEmitterDeliversEverythingToAReaderAfterTheCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	em, ch := backend.NewRunEmitter(ctx, 0)
	const n = 10000
	go func() {
		for i := range n {
			em.Emit(backend.Event{Kind: backend.EventTokens, Sample: i})
		}
		em.Emit(backend.Event{Kind: backend.EventFinish, Reason: backend.StopCancelled})
		em.Emit(backend.Event{Kind: backend.EventDone})
		em.Close()
	}()
	got := 0
	for ev := range ch {
		if got < n && ev.Sample != got {
			t.Fatalf("event %d has sample %d", got, ev.Sample)
		}
		got++
	}
	if got != n+2 {
		t.Errorf("a consumer that kept reading got %d events, want %d: the cancelled finishes must arrive", got, n+2)
	}
}

// scripted is a Sampler that plays a fixed list of events.
type scripted []backend.Event

func (s scripted) Models(context.Context) ([]backend.Model, error) { return nil, nil }

func (s scripted) Start(_ context.Context, req backend.Request) (<-chan backend.Event, error) {
	ch := make(chan backend.Event, len(s))
	for _, ev := range s {
		ch <- ev
	}
	close(ch)
	return ch, nil
}

func TestRunSampleNamesEachDifferentFailure(t *testing.T) {
	req := backend.Request{API: params.Completion, Prompt: "x", Params: params.Default(), Options: params.Options{N: 3}}
	fin := func(i int, r backend.StopReason, e *backend.Error) backend.Event {
		return backend.Event{Kind: backend.EventFinish, Sample: i, Reason: r, Err: e}
	}
	run := scripted{
		{Kind: backend.EventStart, Start: &backend.StartInfo{First: 0, Count: 3, Requested: 3}},
		fin(0, backend.StopInterrupted, &backend.Error{Kind: backend.KindTimeout, Message: "idle"}),
		fin(1, backend.StopLength, nil),
		fin(2, backend.StopError, &backend.Error{Kind: backend.KindServer, Message: "boom", Param: "top_k"}),
		{Kind: backend.EventDone},
	}
	var out bytes.Buffer
	_, err := backend.RunSample(context.Background(), run, req, false, &out)
	want := "sample 0: idle\nsample 2: server error: boom (parameter top_k)"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
	run[1].Err.Message = "boom" // one failure: named alone, by its sample
	run[3] = fin(2, backend.StopStop, nil)
	if _, err := backend.RunSample(context.Background(), run, req, false, &out); err == nil || err.Error() != "sample 0: boom" {
		t.Errorf("error = %v, want sample 0's alone", err)
	}
}

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		60 * time.Second: "60s", 2 * time.Minute: "120s", 150 * time.Millisecond: "150ms",
		1600 * time.Millisecond: "1.6s", 412345 * time.Microsecond: "412ms", 0: "0s",
	} {
		if got := backend.ShortDuration(d); got != want {
			t.Errorf("ShortDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
