package backend

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/twinkle-sh/twinkle/backend/wire"
)

// byteTokens splits text at cuts (byte offsets, any order, out of range ignored) and
// reports each piece as vLLM does: decoded on its own.
func byteTokens(text string, cuts []int) (toks []Token, bounds []int) {
	seen := map[int]bool{}
	bounds = []int{0}
	for _, c := range cuts {
		if c > 0 && c < len(text) && !seen[c] {
			seen[c] = true
			bounds = append(bounds, c)
		}
	}
	bounds = append(bounds, len(text))
	for i := 1; i < len(bounds); i++ {
		for j := i; j > 1 && bounds[j] < bounds[j-1]; j-- {
			bounds[j], bounds[j-1] = bounds[j-1], bounds[j]
		}
	}
	for i := 1; i < len(bounds); i++ {
		toks = append(toks, Token{Text: wire.Lossy([]byte(text[bounds[i-1]:bounds[i]])), Logprob: -1, ID: NoTokenID})
	}
	return toks, bounds
}

func joinPlaced(t *testing.T, text string, pl []Place) string {
	t.Helper()
	var b strings.Builder
	at := 0
	for i, p := range pl {
		if p.Kind != InText {
			t.Fatalf("token %d: kind %d, want in the text (places %+v)", i, p.Kind, pl)
		}
		if p.Start != at || p.End < p.Start || p.End > len(text) {
			t.Fatalf("token %d at [%d,%d), want it to start at %d", i, p.Start, p.End, at)
		}
		b.WriteString(text[p.Start:p.End])
		at = p.End
	}
	return b.String()
}

// checkSplit verifies an alignment against the true token boundaries: the joined text is
// the text, and where the division is unambiguous it is the true one, with Split right.
func checkSplit(t *testing.T, text string, toks []Token, bounds []int, pl []Place) {
	t.Helper()
	if got := joinPlaced(t, text, pl); got != text {
		t.Fatalf("aligned text %q, want %q", got, text)
	}
	ambiguous := false
	for _, p := range pl {
		ambiguous = ambiguous || p.Ambiguous
	}
	for i, p := range pl {
		if !wire.LossyEqual([]byte(text[p.Start:p.End]), toks[i].Text) {
			t.Fatalf("token %d: bytes %q do not decode to its text %q", i, text[p.Start:p.End], toks[i].Text)
		}
		if ambiguous {
			continue
		}
		if p.Start != bounds[i] || p.End != bounds[i+1] {
			t.Fatalf("token %d at [%d,%d), truly [%d,%d) (unambiguous)", i, p.Start, p.End, bounds[i], bounds[i+1])
		}
		cut := func(b int) bool { return b > 0 && b < len(text) && !utf8.RuneStart(text[b]) }
		if (cut(p.Start) || cut(p.End)) != (p.Split.Parts > 0) {
			t.Fatalf("token %d [%d,%d): split %+v, but cuts a character: %v", i, p.Start, p.End, p.Split, cut(p.Start) || cut(p.End))
		}
		if s := p.Split; s.Parts > 0 {
			if text[s.Start:s.End] != s.Text || !utf8.ValidString(s.Text) || s.Start > p.End || s.End < p.Start || s.Part < 1 || s.Part > s.Parts {
				t.Fatalf("token %d: bad split %+v", i, s)
			}
		}
	}
}

func TestAlignSplitCharacters(t *testing.T) {
	cases := []struct {
		name string
		text string
		cuts []int
		want []string // the texts the server reports
	}{
		{"好 as 2+1", " park好 under", []int{5, 7, 8}, []string{" park", "\ufffd", "\ufffd", " under"}},
		{"é as 1+1", "café!", []int{3, 4, 5}, []string{"caf", "\ufffd", "\ufffd", "!"}},
		{"🙂 as 3+1", "ok🙂", []int{2, 5}, []string{"ok", "\ufffd", "\ufffd"}},
		{"🙂 as 1+3", "ok🙂", []int{2, 3}, []string{"ok", "\ufffd", "\ufffd\ufffd\ufffd"}},
		{"世界 byte by byte", "世界 ", []int{1, 2, 3, 4, 5, 6}, []string{"\ufffd", "\ufffd", "\ufffd", "\ufffd", "\ufffd", "\ufffd", " "}},
		{"token holds a space and a lead byte", "a 好!", []int{3, 4}, []string{"a \ufffd", "\ufffd", "\ufffd!"}},
		{"one token across two characters", "好日", []int{2, 4}, []string{"\ufffd", "\ufffd\ufffd", "\ufffd\ufffd"}},
		{"a real U+FFFD", "x\ufffdy", []int{1, 4}, []string{"x", "\ufffd", "y"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			toks, bounds := byteTokens(c.text, c.cuts)
			var got []string
			for _, tk := range toks {
				got = append(got, tk.Text)
			}
			if strings.Join(got, "|") != strings.Join(c.want, "|") {
				t.Fatalf("reported texts %q, want %q", got, c.want)
			}
			pl := Align(toks, c.text, "")
			checkSplit(t, c.text, toks, bounds, pl)
		})
	}
}

func TestAlignSplitGroup(t *testing.T) {
	// 好日 as [e5 a5][bd e6][97 a5]: the middle token holds parts of both.
	text := "好日"
	toks, _ := byteTokens(text, []int{2, 4})
	pl := Align(toks, text, "")
	for i, p := range pl {
		if p.Split != (Split{Text: "好日", Start: 0, End: 6, Part: i + 1, Parts: 3}) {
			t.Fatalf("token %d: split %+v", i, p.Split)
		}
	}
	// 好 then 日, each in two tokens: two groups.
	toks, _ = byteTokens(text, []int{2, 3, 5})
	pl = Align(toks, text, "")
	want := []Split{{"好", 0, 3, 1, 2}, {"好", 0, 3, 2, 2}, {"日", 3, 6, 1, 2}, {"日", 3, 6, 2, 2}}
	for i, p := range pl {
		if p.Split != want[i] {
			t.Fatalf("token %d: split %+v, want %+v", i, p.Split, want[i])
		}
	}
}

// stream feeds toks one at a time with the text a vLLM detokenizer would have released
// by then (whole characters, less hold bytes held back for a stop string), checks that
// settled places never change, and returns the places after Finish.
func stream(t *testing.T, text string, toks []Token, bounds []int, hold int) []Place {
	t.Helper()
	a := NewAligner()
	sent := 0
	var settled []Place
	for i := range toks {
		released := wire.CompletePrefix([]byte(text[:bounds[i+1]]))
		released = max(sent, released-hold)
		for released > sent && released < len(text) && !utf8.RuneStart(text[released]) {
			released--
		}
		a.Add(toks[i:i+1], text[sent:released])
		sent = released
		for k, p := range settled {
			if a.Places()[k] != p {
				t.Fatalf("%q: after token %d, settled token %d moved from %+v to %+v", text, i, k, p, a.Places()[k])
			}
		}
		settled = append(settled[:0], a.Places()[:a.Settled()]...)
		for k, p := range a.Places() {
			if p.In() && (p.End > a.TextLen() || p.Start < 0) {
				t.Fatalf("after token %d: token %d placed [%d,%d) outside text of %d bytes", i, k, p.Start, p.End, a.TextLen())
			}
		}
	}
	a.Add(nil, text[sent:])
	a.Finish("")
	if a.Settled() != len(toks) {
		t.Fatalf("%q: %d of %d settled after Finish", text, a.Settled(), len(toks))
	}
	return a.Places()
}

var alphabet = []string{"a", "b", " ", "\n", "é", "e\u0301", "好", "日", "世界", "🙂", "👍🏽", "👨\u200d👩\u200d👧", "\ufffd", "ß", "\t", "ق", "🇯🇵"}

func randomText(r *rand.Rand, n int) string {
	var b strings.Builder
	for range n {
		b.WriteString(alphabet[r.IntN(len(alphabet))])
	}
	return b.String()
}

func randomCuts(r *rand.Rand, text string) []int {
	var cuts []int
	for i := 1; i < len(text); i++ {
		if r.IntN(3) == 0 {
			cuts = append(cuts, i)
		}
	}
	return cuts
}

// TestAlignProperty: for any split of a valid UTF-8 text into byte tokens, reported as
// vLLM reports them, the aligned text is the text, whether aligned at once or while
// streaming (with the text held back for whole characters and for a stop string).
func TestAlignProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(16, 16))
	for iter := range 3000 {
		text := randomText(r, 1+r.IntN(12))
		toks, bounds := byteTokens(text, randomCuts(r, text))
		checkSplit(t, text, toks, bounds, Align(toks, text, ""))
		// Streamed, the alignment knows more (no text arrives before its tokens), so it
		// may settle a division that, all at once, ties with another.
		checkSplit(t, text, toks, bounds, stream(t, text, toks, bounds, iter%4))
	}
}

func FuzzAlign(f *testing.F) {
	f.Add("park好 under é 🙂", []byte{5, 7, 8, 15})
	f.Add("世界 世界", []byte{1, 2, 3, 4, 5, 6, 8})
	f.Add("👨\u200d👩\u200d👧", []byte{1, 2, 3, 5, 9})
	f.Fuzz(func(t *testing.T, text string, cutBytes []byte) {
		if !utf8.ValidString(text) || len(text) > 200 {
			return
		}
		cuts := make([]int, len(cutBytes))
		for i, c := range cutBytes {
			cuts[i] = int(c)
		}
		toks, bounds := byteTokens(text, cuts)
		checkSplit(t, text, toks, bounds, Align(toks, text, ""))
		checkSplit(t, text, toks, bounds, stream(t, text, toks, bounds, 2))
	})
}

func TestAlignStopStringTail(t *testing.T) {
	// The stop string "###" matched inside the last token; the server left it out.
	toks := []Token{{Text: "Hi"}, {Text: " there"}, {Text: "##"}, {Text: "#\n"}}
	pl := Align(toks, "Hi there", "###")
	if pl[1].Kind != InText || pl[2].Kind != InTail || pl[2].Start != 8 || pl[3].Kind != InTail || pl[3].End != 12 {
		t.Fatalf("places %+v", pl)
	}
	// Without the tail, the stop string's tokens are not in the text but nothing is lost.
	a := NewAligner()
	a.Add(toks, "Hi there")
	a.Finish("")
	if p := a.Places(); p[1].Kind != InText || p[2].Kind != NotPlaced || p[3].Kind != NotPlaced || a.Lost() >= 0 {
		t.Fatalf("places %+v lost %d", p, a.Lost())
	}
	// A split character inside the stop string is placed from the tail.
	text := "ok"
	toks = []Token{{Text: "ok"}, {Text: "\ufffd"}, {Text: "\ufffd"}}
	pl = Align(toks, text, "好")
	if pl[1].Kind != InTail || pl[2].Split.Text != "好" {
		t.Fatalf("places %+v", pl)
	}
}

func TestAlignEnds(t *testing.T) {
	// EOS reported as "" sits at the end; a special token's own text is not in the text.
	pl := Align([]Token{{Text: "a"}, {Text: ""}}, "a", "")
	if pl[1] != (Place{Kind: InText, Start: 1, End: 1}) {
		t.Fatalf("empty EOS: %+v", pl[1])
	}
	pl = Align([]Token{{Text: "a"}, {Text: "<|im_end|>"}}, "a", "")
	if pl[1].Kind != NotPlaced {
		t.Fatalf("special token: %+v", pl[1])
	}
	// Cut off by length inside a character: vLLM never releases the partial bytes.
	toks, _ := byteTokens("ab好", []int{2, 3})
	pl = Align(toks[:2], "ab", "")
	if pl[0].Kind != InText || pl[1].Kind != NotPlaced {
		t.Fatalf("cut inside a character: %+v", pl)
	}
	// A server that flushes them as U+FFFD instead: the token is that U+FFFD.
	pl = Align(toks[:2], "ab\ufffd", "")
	if pl[1] != (Place{Kind: InText, Start: 2, End: 5}) {
		t.Fatalf("flushed as U+FFFD: %+v", pl[1])
	}
}

func TestAlignMismatchLoses(t *testing.T) {
	// A server whose content leaves out tokens (a reasoning parser, say): from the first
	// token that does not match on, nothing is placed, and nothing placed before moves.
	a := NewAligner()
	a.Add([]Token{{Text: "Hello"}, {Text: " world"}}, "Hello there")
	if a.Lost() != 1 || a.Places()[0].Kind != InText || a.Places()[1].Kind != NotPlaced || a.Settled() != 1 {
		t.Fatalf("lost %d places %+v settled %d", a.Lost(), a.Places(), a.Settled())
	}
	a.Add([]Token{{Text: "!"}}, "!")
	a.Finish("")
	if a.Places()[2].Kind != NotPlaced {
		t.Fatalf("after the loss: %+v", a.Places()[2])
	}
}

func TestAlignWaitsForText(t *testing.T) {
	// vLLM holds back text that may start a stop string: tokens run ahead, unplaced, and
	// take their place when the text comes.
	a := NewAligner()
	a.Add([]Token{{Text: "a"}, {Text: "#"}}, "a")
	if p := a.Places(); p[0].Kind != InText || p[1].Kind != NotPlaced || a.Lost() >= 0 || a.Settled() != 1 {
		t.Fatalf("places %+v", p)
	}
	a.Add(nil, "#")
	if p := a.Places(); p[1] != (Place{Kind: InText, Start: 1, End: 2}) || a.Settled() != 2 {
		t.Fatalf("places %+v", p)
	}
}

func TestAlignPrompt(t *testing.T) {
	prompt := `fmt.Println("Hello, 世界 `
	toks, _ := byteTokens(prompt, []int{3, 4, 11, 13, 18, 19, 20, 21, 22, 23, 24, 25, 26})
	toks[0] = Token{Logprob: Unknown(), ID: NoTokenID} // vLLM: null for the first position
	pl := AlignPrompt(toks, prompt)
	if pl == nil {
		t.Fatal("no alignment")
	}
	if pl[0] != (Place{Kind: InText, Start: 0, End: 3}) || pl[len(pl)-1].End != len(prompt) {
		t.Fatalf("places %+v", pl)
	}
	if s := pl[8].Split; s.Text != "世" || s.Part != 2 || s.Parts != 3 {
		t.Fatalf("token 8: split %+v", s)
	}
	// A BOS first: it takes nothing.
	bos := append([]Token{{Logprob: Unknown()}}, byteTokensOnly(prompt, 3, 4)...)
	if pl := AlignPrompt(bos, prompt); pl == nil || pl[0].End != 0 {
		t.Fatalf("BOS: %+v", pl)
	}
	if AlignPrompt([]Token{{Text: "nope"}}, prompt) != nil {
		t.Fatal("tokens that are not the prompt aligned")
	}
}

func byteTokensOnly(text string, cuts ...int) []Token {
	toks, _ := byteTokens(text, cuts)
	return toks
}

func TestReconstruct(t *testing.T) {
	// A chat prompt: template tokens around the message, whose 好 is split.
	toks := []Token{{Text: "<|user|>"}, {Text: "\n"}, {Text: "say"}, {Text: " \ufffd"}, {Text: "\ufffd"}, {Text: "!"}, {Text: "<|end|>"}}
	text, pl := Reconstruct(toks, "system text", "say 好!")
	if text != "<|user|>\nsay 好!<|end|>" {
		t.Fatalf("text %q", text)
	}
	if s := pl[4].Split; s.Text != "好" || s.Part != 2 || s.Parts != 2 {
		t.Fatalf("split %+v", s)
	}
	if got := text[pl[3].Start:pl[3].End]; got != " \xe5\xa5" {
		t.Fatalf("token 3 bytes %q", got)
	}
	// Not found: the reported text stays.
	text, _ = Reconstruct(toks, "nothing like it")
	if text != "<|user|>\nsay \ufffd\ufffd!<|end|>" {
		t.Fatalf("text %q", text)
	}
}

func TestLossyMatchesMaximalSubparts(t *testing.T) {
	cases := map[string]string{
		"\xe5\xa5":             "\ufffd",
		"\xa5\xbd":             "\ufffd\ufffd",
		"\xf0\x9f\x99":         "\ufffd",
		"\xed\xa0\x80":         "\ufffd\ufffd\ufffd", // a surrogate: ED then two strays
		"\xe0\x80":             "\ufffd\ufffd",
		"a\xc3":                "a\ufffd",
		"\xf4\x90\x80\x80":     "\ufffd\ufffd\ufffd\ufffd",
		"\xef\xbf\xbd":         "\ufffd",
		"\xe5\xa5\xbd\xe6\x97": "好\ufffd",
	}
	for in, want := range cases {
		if got := wire.Lossy([]byte(in)); got != want {
			t.Errorf("Lossy(%q) = %q, want %q", in, got, want)
		}
		if !wire.LossyEqual([]byte(in), want) {
			t.Errorf("LossyEqual(%q, %q) = false", in, want)
		}
	}
}

func TestAlignAfterFinish(t *testing.T) {
	a := NewAligner()
	a.Add([]Token{{Text: "a"}}, "a")
	a.Finish("")
	a.Add([]Token{{Text: "b"}}, "b")
	if a.Len() != 2 || len(a.Places()) != 2 || a.Places()[1].In() || a.Settled() != 2 || a.TextLen() != 1 {
		t.Fatalf("len %d places %+v settled %d text %d", a.Len(), a.Places(), a.Settled(), a.TextLen())
	}
}

// BenchmarkAlignStream is the aligner's cost per streamed token, for text whose characters
// are split over byte tokens, with the text held back as vLLM holds it.
func BenchmarkAlignStream(b *testing.B) {
	text := strings.Repeat(" 世界 好 café 🙂 the park 👍🏽 naïve", 60)
	var cuts []int
	for i := 1; i < len(text); i++ {
		if i%3 == 0 || text[i] == ' ' {
			cuts = append(cuts, i)
		}
	}
	toks, bounds := byteTokens(text, cuts)
	chunks := make([]string, len(toks))
	sent := 0
	for i := range toks {
		rel := max(sent, wire.CompletePrefix([]byte(text[:bounds[i+1]])))
		chunks[i], sent = text[sent:rel], rel
	}
	b.ReportAllocs()
	for b.Loop() {
		a := NewAligner()
		for i := range toks {
			a.Add(toks[i:i+1], chunks[i])
		}
		a.Finish("")
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(toks)), "ns/token")
}
