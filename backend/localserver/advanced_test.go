package localserver

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/twinkle-sh/twinkle/backend/local"
	"github.com/twinkle-sh/twinkle/backend/wire"
)

func completion(t *testing.T, c *http.Client, body string) wire.CompletionResponse {
	t.Helper()
	code, b := post(t, c, "/v1/completions", body)
	if code != 200 {
		t.Fatalf("%s: %d %s", body, code, b)
	}
	var r wire.CompletionResponse
	if err := json.Unmarshal(b, &r); err != nil || len(r.Choices) == 0 {
		t.Fatalf("%s: %v %s", body, err, b)
	}
	return r
}

func idsJSON(ids []int) string {
	b, _ := json.Marshal(ids)
	return string(b)
}

// vLLM's refusals of its other sampling fields, in its words and order, at the server.
func TestServerRefusesAdvancedFieldsAsVLLM(t *testing.T) {
	c, m := testClient(t)
	V := m.Config.VocabSize
	var many []string
	for i := 0; i < 130; i++ {
		many = append(many, fmt.Sprintf("w%d", i))
	}
	manyJSON, _ := json.Marshal(many)
	cases := []struct {
		body, param, msg string
	}{
		{`{"prompt":"a","logit_bias":{"x":1,"5":1,"\u00bd":1}}`, "logit_bias",
			"logit_bias contains key(s) that cannot be converted to integer token IDs: ['x', '½'] (parameter=logit_bias, value=['x', '½'])"},
		{fmt.Sprintf(`{"prompt":"a","logit_bias":{"%d":1,"3":1,"-1":-5}}`, V), "logit_bias",
			fmt.Sprintf("token_id(s) [%d, -1] in logit_bias contain out-of-vocab token ids. Vocabulary size: %d (parameter=logit_bias, value=[%d, -1])", V, V, V)},
		{`{"prompt":"a","logit_bias":{"5":null}}`, "logit_bias", "logit_bias.5: Input should be a valid number, got JSON null"},
		{`{"prompt":"a","bad_words":["x",""]}`, "", "bad_words cannot contain an empty string. Got bad_words=['x', '']"},
		{`{"prompt":"a","bad_words":null}`, "bad_words", "bad_words: Input should be a valid list, got JSON null"},
		// Tokenized last, once the prompt passed: a word of spaces leaves no tokens.
		{`{"prompt":"a","bad_words":["   ","x","   "]}`, "bad_words", "bad_words entries must tokenize to at least one token. (parameter=bad_words, value=['   ', 'x'])"},
		{fmt.Sprintf(`{"prompt":[%d],"bad_words":["   "]}`, V), "", fmt.Sprintf("Token id %d is out of vocabulary", V)},
		{`{"prompt":"a","bad_words":` + string(manyJSON) + `}`, "bad_words", "Too many bad words after tokenization: 129. The max number is 128. (parameter=bad_words, value=['w0', 'w1',"},
		{`{"prompt":"a","ignore_eos":null}`, "ignore_eos", "ignore_eos: Input should be a valid boolean, got JSON null"},
		{`{"prompt":"a","min_tokens":null}`, "min_tokens", "min_tokens: Input should be a valid integer, got JSON null"},
		{`{"prompt":"a","min_tokens":-2}`, "", "min_tokens must be greater than or equal to 0, got -2."},
		{`{"prompt":"a","frequency_penalty":-2.01}`, "", "frequency_penalty must be in [-2, 2], got -2.01."},
	}
	for _, tc := range cases {
		code, b := post(t, c, "/v1/completions", tc.body)
		info, ok := wire.ParseError(b)
		if code != 400 || !ok || !strings.Contains(info.Message, tc.msg) || info.Type != "BadRequestError" {
			t.Errorf("%.90s: %d %s\nwant %q", tc.body, code, b, tc.msg)
			continue
		}
		if (tc.param == "") != (info.Param == nil) || (info.Param != nil && *info.Param != tc.param) {
			t.Errorf("%.90s: param %v, want %q", tc.body, info.Param, tc.param)
		}
	}
}

// Every advanced field reaches the engine: the server's sample is the engine's own for
// the same request, and not the sample without the field.
func TestServerAdvancedFieldsReachTheEngine(t *testing.T) {
	c, m := testClient(t)
	prompt := m.Tok.Encode("func main() {")
	const base = `"prompt":"func main() {","max_tokens":24,"seed":1,"temperature":1,"ignore_eos":true,"return_token_ids":true`
	sample := func(extra string) []int {
		return completion(t, c, `{`+base+extra+`}`).Choices[0].TokenIDs.V
	}
	engine := func(set func(r *local.Request)) []int {
		r := local.Request{Prompt: prompt, N: 1, MaxTokens: 24, IgnoreEOS: true, Logprobs: -1, PromptLogprobs: -1,
			Sampling: local.Sampling{Temperature: 1, TopP: 1, RepetitionPenalty: 1, Seed: ptr(int64(1))}}
		set(&r)
		res, err := m.Generate(t.Context(), r, func(local.Delta) {})
		if err != nil {
			t.Fatal(err)
		}
		return res.Samples[0].TokenIDs
	}
	plain := sample("")
	if want := engine(func(*local.Request) {}); !slices.Equal(plain, want) {
		t.Fatalf("baseline: server %v, engine %v", plain, want)
	}
	word := ""
	for _, id := range plain {
		if w := m.Tok.TokenText(id); len(strings.TrimSpace(w)) > 1 && len(m.Tok.Encode(strings.TrimSpace(w))) == 1 {
			word = strings.TrimSpace(w)
			break
		}
	}
	if word == "" {
		t.Fatalf("no one-token word in %v", plain)
	}
	x := m.Tok.Encode("x")[0]
	for _, tc := range []struct {
		extra string
		set   func(r *local.Request)
	}{
		{`,"min_p":0.3`, func(r *local.Request) { r.Sampling.MinP = 0.3 }},
		{`,"presence_penalty":2`, func(r *local.Request) { r.Sampling.PresencePenalty = 2 }},
		{`,"frequency_penalty":-2`, func(r *local.Request) { r.Sampling.FrequencyPenalty = -2 }},
		{fmt.Sprintf(`,"logit_bias":{" %d":7}`, x), func(r *local.Request) { r.Sampling.LogitBias = map[int]float64{x: 7} }},
		{`,"bad_words":["` + word + `"]`, func(r *local.Request) { r.Sampling.BadWords = []string{word} }},
	} {
		got, want := sample(tc.extra), engine(tc.set)
		if !slices.Equal(got, want) {
			t.Errorf("%s: server %v, engine %v", tc.extra, got, want)
		}
		if slices.Equal(got, plain) {
			t.Errorf("%s changed nothing: %v", tc.extra, got)
		}
	}
	// A +100 bias on EOS: min_tokens holds it off, then it ends the sample, unless
	// ignore_eos; include_stop_str_in_output keeps a stop string.
	eos := m.Config.EOSID
	greedy := fmt.Sprintf(`{"prompt":"func main() {","temperature":0,"max_tokens":8,"return_token_ids":true,"logit_bias":{"%d":100}`, eos)
	if ch := completion(t, c, greedy+`,"min_tokens":3}`).Choices[0]; len(ch.TokenIDs.V) != 4 || ch.TokenIDs.V[3] != eos || *ch.FinishReason != "stop" {
		t.Errorf("min_tokens 3 with EOS biased: %v %s", ch.TokenIDs.V, *ch.FinishReason)
	}
	if ch := completion(t, c, greedy+`,"min_tokens":3,"ignore_eos":true}`).Choices[0]; len(ch.TokenIDs.V) != 8 || *ch.FinishReason != "length" {
		t.Errorf("ignore_eos: %v %s", ch.TokenIDs.V, *ch.FinishReason)
	}
	text := completion(t, c, `{"prompt":"func main() {","temperature":0,"max_tokens":16,"ignore_eos":true}`).Choices[0].Text
	stop := strings.TrimSpace(text)[:1]
	for _, keep := range []bool{false, true} {
		ch := completion(t, c, fmt.Sprintf(`{"prompt":"func main() {","temperature":0,"max_tokens":16,"ignore_eos":true,"stop":[%q],"include_stop_str_in_output":%v}`, stop, keep)).Choices[0]
		if strings.HasSuffix(ch.Text, stop) != keep || ch.StopReason.String != stop {
			t.Errorf("include_stop_str_in_output %v: %q stop_reason %+v", keep, ch.Text, ch.StopReason)
		}
	}
}

// topValues maps a top_logprobs object's keys to their values.
func topValues(m wire.TopMap) map[string]float64 {
	out := map[string]float64{}
	for _, e := range m {
		out[e.Token] = e.Logprob
	}
	return out
}

// vLLM's four logprobs modes, each served, against the forward pass: the prompt and
// the sample sent back as one prompt and scored by the prefill (raw logits with
// raw_logits, raw logprobs otherwise). Raw values are those; processed ones follow
// from the logits: min-p 0.1 and top-k 3 at temperature 0.5 keep at most three tokens,
// each logit/0.5 (processed_logits), renormalised over the kept set
// (processed_logprobs), the rest -9999. Prompt scores are raw in every mode.
func TestServerLogprobsModesAgainstTheForwardPass(t *testing.T) {
	m := builtin(t)
	const temp, topK, minP = 0.5, 3, 0.1
	modes := []local.LogprobsMode{local.RawLogprobs, local.RawLogits, local.ProcessedLogprobs, local.ProcessedLogits}
	clients := map[local.LogprobsMode]*http.Client{}
	for _, mode := range modes {
		clients[mode] = NewClient(m, Options{LogprobsMode: mode})
	}
	body := fmt.Sprintf(`{"prompt":"func main() {","max_tokens":12,"logprobs":5,"seed":11,"temperature":%g,"top_k":%d,"min_p":%g,"ignore_eos":true,"return_token_ids":true}`, temp, topK, minP)
	got := map[local.LogprobsMode]wire.CompletionChoice{}
	for _, mode := range modes {
		got[mode] = completion(t, clients[mode], body).Choices[0]
	}
	ids := got[local.RawLogprobs].TokenIDs.V
	for _, mode := range modes {
		if !slices.Equal(got[mode].TokenIDs.V, ids) {
			t.Fatalf("%s drew %v, raw_logprobs %v: the mode changed the sample", mode, got[mode].TokenIDs.V, ids)
		}
	}
	prompt := m.Tok.Encode("func main() {")
	full := append(slices.Clone(prompt), ids...)
	score := fmt.Sprintf(`{"prompt":%s,"max_tokens":1,"prompt_logprobs":20}`, idsJSON(full))
	scores := map[local.LogprobsMode][]wire.PromptPosition{}
	for _, mode := range modes {
		scores[mode] = completion(t, clients[mode], score).Choices[0].PromptLogprobs
	}
	// Prompt tokens skip the sampler: processed modes score them as the raw ones do.
	for i := 1; i < len(full); i++ {
		if !samePosition(scores[local.ProcessedLogits][i], scores[local.RawLogits][i]) || !samePosition(scores[local.ProcessedLogprobs][i], scores[local.RawLogprobs][i]) {
			t.Fatalf("prompt position %d: processed modes score the prompt differently from raw", i)
		}
		if scores[local.RawLogits][i][0].Logprob == scores[local.RawLogprobs][i][0].Logprob {
			t.Fatalf("prompt position %d: raw_logits gave the logprob %v", i, scores[local.RawLogprobs][i][0].Logprob)
		}
	}
	near := func(a, b float64) bool { return math.Abs(a-b) <= 2e-3+2e-4*math.Abs(b) }
	P := len(prompt)
	checked := 0
	for i, id := range ids {
		// The forward pass at this position, by id and by text (texts that two ids share
		// are left out: completions key alternatives by text).
		byID := map[int][2]float64{} // raw logit, raw logprob
		textID := map[string]int{}
		for _, e := range scores[local.RawLogits][P+i] {
			byID[e.TokenID] = [2]float64{e.Logprob, math.NaN()}
			if _, dup := textID[*e.DecodedToken]; dup {
				textID[*e.DecodedToken] = -1
			} else {
				textID[*e.DecodedToken] = e.TokenID
			}
		}
		for _, e := range scores[local.RawLogprobs][P+i] {
			v := byID[e.TokenID]
			v[1] = e.Logprob
			byID[e.TokenID] = v
		}
		// What the sampler keeps: the top 3 logits, those within min_p of the best.
		type tl struct {
			id    int
			logit float64
		}
		var ranked []tl
		for tid, v := range byID {
			ranked = append(ranked, tl{tid, v[0]})
		}
		slices.SortFunc(ranked, func(a, b tl) int { return -cmp.Compare(a.logit, b.logit) })
		kept := map[int]bool{}
		var lse float64
		for _, r := range ranked[:topK] {
			if (r.logit-ranked[0].logit)/temp >= math.Log(minP) {
				kept[r.id] = true
				lse += math.Exp((r.logit - ranked[0].logit) / temp)
			}
		}
		lse = math.Log(lse) + ranked[0].logit/temp
		want := func(mode local.LogprobsMode, tid int) float64 {
			switch {
			case mode == local.RawLogits:
				return byID[tid][0]
			case mode == local.RawLogprobs:
				return byID[tid][1]
			case !kept[tid]:
				return -9999
			case mode == local.ProcessedLogits:
				return byID[tid][0] / temp
			}
			return byID[tid][0]/temp - lse
		}
		if !kept[id] {
			t.Fatalf("token %d: drew %d, which the sampler should have cut (kept %v)", i, id, kept)
		}
		for _, mode := range modes {
			ch := got[mode]
			if v := *ch.Logprobs.TokenLogprobs[i]; !near(v, want(mode, id)) {
				t.Errorf("%s token %d (id %d): %v, forward pass %v", mode, i, id, v, want(mode, id))
			}
			var sum float64
			for text, v := range topValues(ch.Logprobs.TopLogprobs[i]) {
				tid, ok := textID[text]
				switch {
				case ok && tid >= 0:
					if !near(v, want(mode, tid)) {
						t.Errorf("%s token %d, alternative %q: %v, forward pass %v", mode, i, text, v, want(mode, tid))
					}
					checked++
				case !strings.HasPrefix(string(mode), "processed") || v != -9999:
					t.Errorf("%s token %d: alternative %q (%v) is not among the forward pass's top 20", mode, i, text, v)
				}
				if mode == local.ProcessedLogprobs && v > -9999 {
					sum += math.Exp(v)
				}
			}
			if mode == local.ProcessedLogprobs && math.Abs(sum-1) > 1e-5 {
				t.Errorf("token %d: processed_logprobs of the kept set sum to %v, not 1", i, sum)
			}
		}
	}
	if checked < len(ids)*len(modes)*3 {
		t.Fatalf("only %d alternatives checked", checked)
	}
}

func samePosition(a, b wire.PromptPosition) bool {
	return slices.EqualFunc(a, b, func(x, y wire.PromptLogprob) bool {
		return x.TokenID == y.TokenID && x.Logprob == y.Logprob && *x.Rank == *y.Rank && *x.DecodedToken == *y.DecodedToken
	})
}

// The done-when: served with --logprobs-mode processed_logprobs, the built-in
// model returns logprobs that sum to 1 over the kept set (what top_p and top_k leave),
// the rest being vLLM's -9999.
func TestServedProcessedLogprobsSumToOne(t *testing.T) {
	m := builtin(t)
	srv := httptest.NewServer(NewServer(m, Options{LogprobsMode: local.ProcessedLogprobs}))
	defer srv.Close()
	client := srv.Client()
	resp, err := client.Post(srv.URL+"/v1/completions", "application/json",
		strings.NewReader(`{"prompt":"func main() {","n":2,"max_tokens":16,"logprobs":20,"seed":5,"temperature":0.8,"top_p":0.8,"top_k":12,"ignore_eos":true,"stream":true}`))
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	positions := 0
	for _, data := range events(t, body) {
		if data == "[DONE]" {
			continue
		}
		var ch wire.CompletionChunk
		if err := json.Unmarshal([]byte(data), &ch); err != nil {
			t.Fatal(err)
		}
		for _, c := range ch.Choices {
			if c.Logprobs == nil {
				continue
			}
			if c.Processed != nil {
				t.Fatalf("a served API carries twinkle's extension: %s", data)
			}
			for i, top := range c.Logprobs.TopLogprobs {
				var sum float64
				cut := 0
				for _, e := range top {
					if e.Logprob == -9999 {
						cut++
					} else {
						sum += math.Exp(e.Logprob)
					}
				}
				if *c.Logprobs.TokenLogprobs[i] == -9999 || cut == 0 {
					t.Fatalf("token %q: logprob %v with %d cut of %d", c.Logprobs.Tokens[i], *c.Logprobs.TokenLogprobs[i], cut, len(top))
				}
				if math.Abs(sum-1) > 1e-5 {
					t.Fatalf("token %q: the kept set sums to %v: %v", c.Logprobs.Tokens[i], sum, top)
				}
				positions++
			}
		}
	}
	if positions != 32 {
		t.Fatalf("checked %d positions, want 32", positions)
	}
}

// In-process, the server adds each token's processed logprobs under the keys of its
// raw top_logprobs (twinkle's own field), streamed or not, echo or not: the values a
// processed_logprobs server returns for the same draw. Without the option, and from
// serve-model, the field never appears.
func TestServerProcessedExtension(t *testing.T) {
	m := builtin(t)
	both := NewClient(m, Options{Processed: true})
	processed := NewClient(m, Options{LogprobsMode: local.ProcessedLogprobs})
	const body = `{"prompt":"func main() {","max_tokens":6,"logprobs":4,"seed":2,"temperature":0.7,"top_k":3,"ignore_eos":true`
	for _, extra := range []string{`}`, `,"echo":true}`} {
		r := completion(t, both, body+extra).Choices[0]
		want := completion(t, processed, body+extra).Choices[0]
		raw := completion(t, NewClient(m, Options{}), body+extra).Choices[0]
		if r.Processed == nil || len(r.Processed.TokenLogprobs) != len(r.Logprobs.Tokens) || len(r.Processed.TopLogprobs) != len(r.Logprobs.Tokens) {
			t.Fatalf("%s: processed %+v for %d tokens", extra, r.Processed, len(r.Logprobs.Tokens))
		}
		echoed := len(r.Logprobs.Tokens) - 6
		for i := range r.Logprobs.Tokens {
			if i < echoed {
				if r.Processed.TokenLogprobs[i] != nil || r.Processed.TopLogprobs[i] != nil {
					t.Fatalf("%s: echoed prompt token %d has processed values", extra, i)
				}
				continue
			}
			if *r.Logprobs.TokenLogprobs[i] != *raw.Logprobs.TokenLogprobs[i] || *r.Processed.TokenLogprobs[i] != *want.Logprobs.TokenLogprobs[i] {
				t.Fatalf("%s token %d: raw %v processed %v, want %v and %v", extra, i, *r.Logprobs.TokenLogprobs[i], *r.Processed.TokenLogprobs[i], *raw.Logprobs.TokenLogprobs[i], *want.Logprobs.TokenLogprobs[i])
			}
			pv, wv := topValues(r.Processed.TopLogprobs[i]), topValues(want.Logprobs.TopLogprobs[i])
			for j, e := range r.Logprobs.TopLogprobs[i] {
				if r.Processed.TopLogprobs[i][j].Token != e.Token {
					t.Fatalf("%s token %d: processed keys %v, raw keys %v", extra, i, r.Processed.TopLogprobs[i], r.Logprobs.TopLogprobs[i])
				}
				if w, ok := wv[e.Token]; ok && pv[e.Token] != w || !ok && pv[e.Token] != -9999 {
					t.Fatalf("%s token %d %q: processed %v, a processed_logprobs server %v (listed %v)", extra, i, e.Token, pv[e.Token], w, ok)
				}
			}
		}
	}
	_, b := post(t, both, "/v1/completions", body+`,"stream":true}`)
	if n := strings.Count(string(b), `"twinkle_processed_logprobs":{"token_logprobs":[`); n != 6 {
		t.Fatalf("streamed: %d chunks carry processed logprobs, want 6:\n%s", n, b)
	}
	for _, c := range []*http.Client{NewClient(m, Options{}), processed} {
		_, b := post(t, c, "/v1/completions", body+`,"stream":true}`)
		_, b2 := post(t, c, "/v1/completions", body+`}`)
		if strings.Contains(string(b)+string(b2), "twinkle_processed") {
			t.Fatalf("the extension without the option: %s", b)
		}
	}
	// Without logprobs there is nothing to add.
	if _, b := post(t, both, "/v1/completions", `{"prompt":"a","max_tokens":2}`); strings.Contains(string(b), "twinkle_processed") {
		t.Fatalf("no logprobs asked for: %s", b)
	}
}

// BenchmarkProcessedExtension: what the processed values beside the raw ones cost a
// streamed request of the playground's shape (4 samples, 32 tokens, top-20 logprobs).
func BenchmarkProcessedExtension(b *testing.B) {
	m, err := local.Load()
	if err != nil {
		b.Fatal(err)
	}
	const body = `{"prompt":"func main() {","n":4,"max_tokens":32,"logprobs":20,"seed":1,"temperature":0.8,"top_p":0.9,"ignore_eos":true,"stream":true}`
	for _, processed := range []bool{false, true} {
		b.Run(fmt.Sprintf("processed=%v", processed), func(b *testing.B) {
			c := NewClient(m, Options{Processed: processed})
			for b.Loop() {
				resp, err := c.Post("http://local/v1/completions", "application/json", strings.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}
