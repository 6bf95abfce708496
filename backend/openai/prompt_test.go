package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/backend/vllmtest"
	"github.com/twinkle-sh/twinkle/backend/wire"
	"github.com/twinkle-sh/twinkle/params"
)

func entry(id int, text string, lp float64, rank int) wire.PromptLogprob {
	return wire.PromptLogprob{TokenID: id, Logprob: lp, Rank: &rank, DecodedToken: &text}
}

func texts(toks []backend.Token) []string {
	var out []string
	for _, t := range toks {
		out = append(out, t.Text)
	}
	return out
}

// "Once upon a time" with top-2 prompt logprobs, each dict sorted by token id as a
// server may write it: the prompt token is not the first key. Taking the first key read
// "She the###".
func sortedKeys() []wire.PromptPosition {
	return []wire.PromptPosition{
		nil,
		{entry(10, " She", -0.5, 1), entry(20, " upon", -1.5, 2)},
		{entry(5, " the", -0.7, 1), entry(30, " a", -0.9, 2)},
		{entry(7, "###", -0.2, 1), entry(40, " time", -2.5, 2)},
	}
}

func TestPromptTokensAreFoundByEvidenceNotKeyOrder(t *testing.T) {
	prompt := "Once upon a time"
	toks, align := promptTokens(sortedKeys(), nil, 2, &prompt)
	if align != backend.PromptMatched || strings.Join(texts(toks), "|") != "| upon| a| time" {
		t.Fatalf("no ids, matched by text: %q %q, want | upon| a| time", align, texts(toks))
	}
	if float64(toks[1].Logprob) != -1.5 || toks[1].ID != 20 || float64(toks[3].Logprob) != -2.5 || len(toks[3].Top) != 2 || toks[3].Top[0].Text != "###" {
		t.Errorf("matched tokens carry the wrong numbers: %+v", toks)
	}

	toks, align = promptTokens(sortedKeys(), []int{1, 20, 30, 40}, 2, &prompt)
	if align != backend.PromptByID || strings.Join(texts(toks), "|") != "| upon| a| time" || toks[0].ID != 1 {
		t.Errorf("by id: %q %q", align, texts(toks))
	}
	// Ids that do not line up with the positions name nothing: matched by text instead.
	if _, align = promptTokens(sortedKeys(), []int{20, 30, 40}, 2, &prompt); align != backend.PromptMatched {
		t.Errorf("misaligned ids: %q", align)
	}

	// Chat: the templated prompt is the server's, so only ids and ranks can decide.
	if toks, align = promptTokens(sortedKeys(), nil, 2, nil); align != backend.PromptUnaligned || toks != nil {
		t.Errorf("chat without ids or deciding ranks: %q %q, want unaligned and no tokens", align, texts(toks))
	}
	// The prompt token ranked below the top-1 is the one extra entry: the ranks decide.
	ranked := []wire.PromptPosition{nil,
		{entry(10, " She", -0.5, 1), entry(20, " upon", -1.5, 2)},
		{entry(30, " a", -0.9, 4), entry(5, " the", -0.7, 1)},
	}
	if toks, align = promptTokens(ranked, nil, 1, nil); align != backend.PromptMatched || strings.Join(texts(toks), "|") != "| upon| a" {
		t.Errorf("chat with deciding ranks: %q %q", align, texts(toks))
	}
	// A rank that contradicts the text: no match rather than a guess.
	short := "Once upon"
	contra := []wire.PromptPosition{nil, {entry(20, " upon", -1.5, 1), entry(10, " She", -0.5, 3)}}
	if _, align = promptTokens(contra, nil, 1, &short); align != backend.PromptUnaligned {
		t.Errorf("ranks against the text: %q", align)
	}
}

func TestPromptTokensThatCannotBeMatchedAreNotGiven(t *testing.T) {
	other := "Once upon a hill"
	if toks, align := promptTokens(sortedKeys(), nil, 2, &other); align != backend.PromptUnaligned || toks != nil {
		t.Errorf("no assignment joins into the prompt: %q %q", align, texts(toks))
	}
	// Two assignments join into "xab": "a"+"b" and "ab"+"": which is the prompt's is
	// unknown.
	two := "xab"
	amb := []wire.PromptPosition{nil, {entry(1, "a", -1, 1), entry(2, "ab", -2, 2)}, {entry(3, "b", -1, 1), entry(4, "", -2, 2)}}
	if _, align := promptTokens(amb, nil, 2, &two); align != backend.PromptUnaligned {
		t.Errorf("two assignments fit: %q, want unaligned", align)
	}
	// With no dict-less first position, the tokens must cover the whole prompt.
	whole := []wire.PromptPosition{{entry(1, "b", -1, 1), entry(2, "ab", -2, 2)}}
	if toks, align := promptTokens(whole, nil, 2, &two); align != backend.PromptUnaligned {
		t.Errorf("tokens covering only the end of the prompt: %q %q", align, texts(toks))
	}
	// A dict missing in the middle: its text is unknown.
	hole := []wire.PromptPosition{nil, {entry(20, " upon", -1.5, 1)}, nil, {entry(40, " time", -2.5, 1)}}
	prompt := "Once upon a time"
	if _, align := promptTokens(hole, nil, 1, &prompt); align != backend.PromptUnaligned {
		t.Errorf("a missing dict mid-prompt: %q", align)
	}
	// A hostile answer with many ways to split a long run gives up early, not slowly.
	run := strings.Repeat("a", 4000)
	var many []wire.PromptPosition
	many = append(many, nil)
	for range 3000 {
		many = append(many, wire.PromptPosition{entry(1, "a", -1, 1), entry(2, "aa", -1, 2), entry(3, "", -1, 3)})
	}
	if _, align := promptTokens(many, nil, 3, &run); align != backend.PromptUnaligned {
		t.Errorf("a run with countless splits: %q", align)
	}
}

// sortingServer answers as vllmtest does, but the prompt-logprobs response comes with no
// prompt_token_ids and each position's dict in descending token-id order, so the prompt
// token (vllmtest's ids 2000+) is never the first key.
func sortingServer(t *testing.T) *Client {
	t.Helper()
	inner := vllmtest.NewHandler()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		inner.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		if rec.Header().Get("Content-Type") == "application/json" && bytes.Contains(body, []byte(`"prompt_logprobs"`)) {
			var m map[string]json.RawMessage
			if err := json.Unmarshal(body, &m); err != nil {
				t.Error(err)
			}
			rewrite := func(obj map[string]json.RawMessage) {
				var pos []wire.PromptPosition
				if err := json.Unmarshal(obj["prompt_logprobs"], &pos); err != nil {
					t.Error(err)
				}
				for _, p := range pos {
					slices.SortFunc(p, func(a, b wire.PromptLogprob) int { return b.TokenID - a.TokenID })
				}
				obj["prompt_logprobs"], _ = wire.Marshal(pos)
				delete(obj, "prompt_token_ids")
			}
			if _, ok := m["prompt_logprobs"]; ok {
				rewrite(m)
			} else {
				var choices []map[string]json.RawMessage
				if err := json.Unmarshal(m["choices"], &choices); err != nil {
					t.Error(err)
				}
				for _, c := range choices {
					rewrite(c)
				}
				m["choices"], _ = json.Marshal(choices)
			}
			body, _ = json.Marshal(m)
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(rec.Code)
		_, _ = io.Copy(w, bytes.NewReader(body))
	}))
	t.Cleanup(hs.Close)
	c, err := New(Config{BaseURL: hs.URL, Model: "m"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.cfg.HTTPClient.(*http.Client).CloseIdleConnections() })
	return c
}

func TestPromptLogprobsFromAServerThatSortsKeys(t *testing.T) {
	c := sortingServer(t)
	req := backend.Request{API: params.Completion, Prompt: "Once upon a time", Params: sampling(0.7, i64(5), ip(2)),
		Options: params.Options{N: 1, PromptLogprobs: ip(2)}}
	evs, r, _ := collect(t, context.Background(), c, req)
	var pe *backend.Event
	for i := range evs {
		if evs[i].Kind == backend.EventPromptLogprobs {
			pe = &evs[i]
		}
	}
	if pe == nil || pe.PromptAlignment != backend.PromptMatched {
		t.Fatalf("prompt logprobs event %+v", pe)
	}
	if got := strings.Join(texts(r.PromptTokens[0]), "|"); got != "| upon| a| time" {
		t.Errorf("completion prompt tokens %q, want the prompt's", got)
	}
	if r.PromptAlignment[0] != backend.PromptMatched {
		t.Errorf("prompt_alignment %v", r.PromptAlignment)
	}

	// Chat: vllmtest ranks the third prompt token inside the top-2, so nothing singles it
	// out without ids: the prompt is unaligned, and says so.
	evs, r, _ = collect(t, context.Background(), c, backend.Request{API: params.Chat, Messages: []backend.Message{{Role: "user", Content: "Once upon a time"}},
		Params: sampling(0.7, i64(5), ip(2)), Options: params.Options{N: 2, PromptLogprobs: ip(2)}})
	b, _ := json.Marshal(r)
	if !strings.Contains(string(b), `"prompt_logprobs":[null,null]`) || !strings.Contains(string(b), `"prompt_tokens":[null,null],"prompt_alignment":["unaligned","unaligned"]`) ||
		len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "could not be matched") {
		t.Errorf("unaligned chat prompt: %s", b)
	}
	for _, ev := range evs {
		if ev.Kind == backend.EventPromptLogprobs && (ev.PromptAlignment != backend.PromptUnaligned || ev.PromptTokens != nil) {
			t.Errorf("unaligned event %+v", ev)
		}
	}
}
