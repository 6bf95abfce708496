package backend_test

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/backend/openai"
	"github.com/twinkle-sh/twinkle/backend/vllmtest"
	"github.com/twinkle-sh/twinkle/params"
)

func multiClient(t *testing.T, url string) *openai.Client {
	t.Helper()
	cl, err := openai.New(openai.Config{BaseURL: url, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// Two servers get the same body; a third target that fails ends its own samples with
// its error, numbered after the others, and stops neither of them.
func TestMultiSendsOneBodyToEveryTargetAndSurvivesAFailure(t *testing.T) {
	a, b, bad := vllmtest.New(), vllmtest.New(), vllmtest.New()
	defer a.Close()
	defer b.Close()
	defer bad.Close()
	f := vllmtest.NoFault()
	f.Status, f.Message, f.Type = 503, "the model is loading", "ServiceUnavailableError"
	bad.SetDefault(vllmtest.Script{Fault: &f})
	m := &backend.Multi{Targets: []backend.Target{
		{Name: "main", Main: true, Sampler: multiClient(t, a.URL)},
		{Name: "down", Model: "twinkle-test/tiny-chat", Sampler: multiClient(t, bad.URL)},
		{Name: "fp8", Model: "twinkle-test/tiny-chat", Sampler: multiClient(t, b.URL)},
	}}
	seed := int64(7)
	p := params.Default()
	p.Seed = &seed
	req := backend.Request{API: params.Completion, Model: "twinkle-test/tiny-chat", Prompt: "Once", Params: p, Options: params.Options{N: 2}}
	ch, err := m.Start(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	starts := map[int]backend.StartInfo{}
	finish := map[int]backend.Event{}
	done := 0
	for ev := range ch {
		switch ev.Kind {
		case backend.EventStart:
			starts[ev.Start.Variant] = *ev.Start
		case backend.EventFinish:
			if _, twice := finish[ev.Sample]; twice {
				t.Errorf("sample %d finished twice", ev.Sample)
			}
			finish[ev.Sample] = ev
		case backend.EventDone:
			done++
		}
	}
	if done != 1 || len(starts) != 3 || len(finish) != 6 {
		t.Fatalf("done %d, starts %v, finishes %d", done, starts, len(finish))
	}
	seen := map[int]bool{}
	for v, s := range starts {
		if s.Count != 2 {
			t.Errorf("target %d: %d samples", v, s.Count)
		}
		for i := range s.Count {
			if seen[s.First+i] {
				t.Errorf("sample %d numbered twice", s.First+i)
			}
			seen[s.First+i] = true
			ev := finish[s.First+i]
			if failed := ev.Reason == backend.StopError; failed != (v == 1) {
				t.Errorf("target %d sample %d: %s %v", v, i, ev.Reason, ev.Err)
			}
		}
	}
	post := func(s *vllmtest.Server) [][]byte {
		var out [][]byte
		for _, r := range s.Requests() {
			if r.Method == http.MethodPost {
				out = append(out, r.Body)
			}
		}
		return out
	}
	ba, bb := post(a), post(b)
	if len(ba) != 1 || len(bb) != 1 || !bytes.Equal(ba[0], bb[0]) {
		t.Errorf("bodies differ:\n%s\n%s", ba, bb)
	}
	if _, err := m.Start(context.Background(), backend.Request{API: params.Completion, Prompt: "x", Variants: []params.SamplingParams{p, p}, Options: params.Options{N: 1}}); err == nil {
		t.Error("a sweep was started on several targets")
	}
	refused := req
	refused.Params.TopP = 0
	if _, err := m.Start(context.Background(), refused); err == nil {
		t.Error("a request no target takes was started")
	}
}

// A batch sends each prompt with the same parameters and seed; the one prompt the server
// refuses ends its own samples only.
func TestBatchSamplesEveryPromptAndKeepsAFailureToItsOwn(t *testing.T) {
	srv := vllmtest.New()
	defer srv.Close()
	srv.FailWhen(func(body []byte) *vllmtest.Fault {
		if !bytes.Contains(body, []byte("BAD")) {
			return nil
		}
		f := vllmtest.NoFault()
		f.Status, f.Message, f.Type = 400, "this prompt is refused", "BadRequestError"
		return &f
	})
	seed := int64(5)
	p := params.Default()
	p.Seed = &seed
	b := &backend.Batch{Sampler: multiClient(t, srv.URL), Prompts: []string{"Once", "BAD prompt", "Long ago"}}
	req := backend.Request{API: params.Completion, Model: "twinkle-test/tiny-chat", Prompt: "ignored", Params: p, Options: params.Options{N: 2}}
	ch, err := b.Start(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	failed := map[int]bool{}
	for ev := range ch {
		if ev.Kind == backend.EventFinish {
			failed[ev.Sample] = ev.Reason == backend.StopError
		}
	}
	for i := range 6 {
		if failed[i] != (i/2 == 1) {
			t.Errorf("sample %d failed=%v", i, failed[i])
		}
	}
	var prompts []string
	for _, r := range srv.Requests() {
		if r.Method == http.MethodPost {
			f := r.Fields()
			prompts = append(prompts, f["prompt"].(string))
			if f["seed"] != float64(5) {
				t.Errorf("seed %v", f["seed"])
			}
		}
	}
	slices.Sort(prompts)
	if !slices.Equal(prompts, []string{"BAD prompt", "Long ago", "Once"}) {
		t.Errorf("prompts sent %q", prompts)
	}
}
