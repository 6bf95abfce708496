package vllmtest

import (
	"bufio"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/twinkle-sh/twinkle/backend/wire"
)

// NoEOS: every sample runs to max_tokens, sample i keeping the tokens Generate gives it.
func TestPaceNoEOSRunsToLength(t *testing.T) {
	seed, m := int64(7), 12
	plain := Generate(4, &seed, &m, nil, nil)
	long := Pace{NoEOS: true}.generate(4, &seed, &m, []string{"END"}, []int{2})
	for i, s := range long {
		if s.Finish != "length" || s.StopReason != wire.StopNull() || s.Hidden != 0 || len(s.Tokens) != m {
			t.Errorf("sample %d: finish %q, reason %+v, hidden %d, %d tokens", i, s.Finish, s.StopReason, s.Hidden, len(s.Tokens))
		}
		n := len(plain[i].Tokens)
		if !reflect.DeepEqual(s.Tokens[:n], plain[i].Tokens) {
			t.Errorf("sample %d does not begin with Generate's tokens", i)
		}
	}
	if len(plain[1].Tokens) == m {
		t.Fatal("the comparison needs a sample that Generate ends early (EOS)")
	}
}

// A paced stream cannot arrive sooner than its rate allows: 2 samples × 20 tokens at 200
// tokens/s per sample take at least 19 rounds of 5 ms. (A lower bound only: a loaded
// machine may take longer.)
func TestPaceHoldsTheRate(t *testing.T) {
	srv := New()
	defer srv.Close()
	srv.SetPace(Pace{PerSample: 200, NoEOS: true})
	start := time.Now()
	resp, err := http.Post(srv.URL+"/chat/completions", "application/json", strings.NewReader(
		`{"model":"m","messages":[{"role":"user","content":"x"}],"n":2,"max_tokens":20,"logprobs":true,"top_logprobs":1,"stream":true}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	tokens, finishes := 0, 0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		tokens += strings.Count(line, `"top_logprobs":[`)
		finishes += strings.Count(line, `"finish_reason":"length"`)
	}
	if took := time.Since(start); took < 19*5*time.Millisecond {
		t.Errorf("40 tokens at 200/s per sample arrived in %v", took)
	}
	if tokens != 40 || finishes != 2 {
		t.Errorf("%d tokens, %d length finishes; want 40 and 2", tokens, finishes)
	}
}
