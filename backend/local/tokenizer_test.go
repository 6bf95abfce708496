package local

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/twinkle-sh/twinkle/backend/wire"
)

// TestPretokenize compares the hand-written pre-tokenizer with splits made
// by the real GPT-2 regex (Python's regex module; see testdata).
func TestPretokenize(t *testing.T) {
	raw, err := os.ReadFile("testdata/pretokenize.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Text   string   `json:"text"`
		Pieces []string `json:"pieces"`
	}
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		var got []string
		for s := c.Text; len(s) > 0; {
			n := pretokenLen(s)
			got = append(got, s[:n])
			s = s[n:]
		}
		if strings.Join(got, "|") != strings.Join(c.Pieces, "|") || len(got) != len(c.Pieces) {
			t.Errorf("pretokenize %q:\n got %q\nwant %q", c.Text, got, c.Pieces)
		}
	}
}

func TestLossyUTF8(t *testing.T) {
	// Expected values from Python's bytes.decode("utf-8", "replace"),
	// which follows the same maximal-subpart rule as Rust's from_utf8_lossy.
	cases := map[string]string{
		"e282": "\ufffd", "61e282ac62": "a€b", "fffe": "\ufffd\ufffd", "c080": "\ufffd\ufffd",
		"eda080": "\ufffd\ufffd\ufffd", "f09f8e": "\ufffd", "f09f8e89": "🎉", "e08080": "\ufffd\ufffd\ufffd",
		"f4908080": "\ufffd\ufffd\ufffd\ufffd", "788079": "x\ufffdy", "c3": "\ufffd", "c3a9a9": "é\ufffd",
	}
	for h, want := range cases {
		b, _ := hex.DecodeString(h)
		if got := wire.Lossy(b); got != want {
			t.Errorf("wire.Lossy(%s) = %q, want %q", h, got, want)
		}
	}
}

func TestCompleteUTF8Prefix(t *testing.T) {
	cases := map[string]int{"": 0, "61": 1, "61e2": 1, "61e282": 1, "61e282ac": 4, "61c0": 2, "61ff": 2,
		"f09f8e": 0, "80": 1, "61e241": 3, "61f0": 1, "61ed": 1, "61eda0": 3}
	for h, want := range cases {
		b, _ := hex.DecodeString(h)
		if got := wire.CompletePrefix(b); got != want {
			t.Errorf("wire.CompletePrefix(%s) = %d, want %d", h, got, want)
		}
	}
}

func TestTokenizerEncode(t *testing.T) {
	tok, err := NewTokenizer(testTokenizerJSON(t))
	if err != nil {
		t.Fatal(err)
	}
	id := func(s string) int { return tok.vocab[s] }
	got := tok.Encode("func main()<|endoftext|>é\n\t")
	want := []int{id("func"), id("Ġmain"), id("()"), 0, id("Ã©"), id("Ċĉ")}
	if !equalInts(got, want) {
		t.Fatalf("Encode = %v, want %v", got, want)
	}
	// "é" alone is one token; decoding its first byte alone shows U+FFFD.
	if got := tok.TokenText(id("Ã")); got != "\ufffd" {
		t.Errorf("TokenText of a lone lead byte = %q", got)
	}
	if got := tok.TokenText(0); got != EndOfText {
		t.Errorf("TokenText(0) = %q", got)
	}
	b, err := tok.Decode(got, true)
	if err != nil || string(b) != "func main()é\n\t" {
		t.Errorf("Decode skipping specials = %q, %v", b, err)
	}
	if _, err := tok.Decode([]int{1, 99999}, false); err == nil || !strings.Contains(err.Error(), "99999") {
		t.Errorf("Decode of a bad id: %v", err)
	}
}

func TestTokenizerErrors(t *testing.T) {
	cases := map[string]string{
		`{`: "tokenizer.json",
		`{"model":{"type":"WordPiece","vocab":{"a":0}}}`:                                  "WordPiece",
		`{"model":{"type":"BPE","vocab":{"a":0}}}`:                                        "<|endoftext|>",
		`{"added_tokens":[{"id":0,"content":"<|endoftext|>"}],"model":{"vocab":{"a":1}}}`: "byte 0x00",
	}
	for in, want := range cases {
		if _, err := NewTokenizer([]byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("NewTokenizer(%s) error %v, want it to mention %q", in, err, want)
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func FuzzTokenizerRoundTrip(f *testing.F) {
	tok, err := NewTokenizer(testTokenizerJSON(f))
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"", "func main() {\n\t}", "é\xc3", "\xff\xfe<|endoftext|>x", "  \t\n 's 'll", "🎉 ٣ Ⅻ"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		ids := tok.Encode(string(in))
		out, err := tok.Decode(ids, false)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(in, out) {
			t.Fatalf("round trip of %q gave %q (ids %v)", in, out, ids)
		}
		// Pieces always cover the input exactly.
		n := 0
		for s := string(in); len(s) > 0; {
			k := pretokenLen(s)
			if k <= 0 || k > len(s) {
				t.Fatalf("pretokenLen(%q) = %d", s, k)
			}
			n += k
			s = s[k:]
		}
		if n != len(in) {
			t.Fatal("pieces do not cover the input")
		}
		if utf8.Valid(in) && wire.Lossy(in) != string(in) {
			t.Fatal("lossyUTF8 changed valid text")
		}
	})
}

// referenceBPE is the textbook GPT-2 loop (merge every occurrence of the
// best-ranked pair, repeat), kept to check the heap version against.
func referenceBPE(t *Tokenizer, word string) []int {
	var syms []string
	for i := 0; i < len(word); i++ {
		syms = append(syms, t.byteChar[word[i]])
	}
	for len(syms) > 1 {
		best, bestRank := -1, 0
		for i := 0; i+1 < len(syms); i++ {
			if r, ok := t.ranks[[2]string{syms[i], syms[i+1]}]; ok && (best < 0 || r < bestRank) {
				best, bestRank = i, r
			}
		}
		if best < 0 {
			break
		}
		a, b := syms[best], syms[best+1]
		var out []string
		for i := 0; i < len(syms); i++ {
			if i+1 < len(syms) && syms[i] == a && syms[i+1] == b {
				out = append(out, a+b)
				i++
				continue
			}
			out = append(out, syms[i])
		}
		syms = out
	}
	ids := make([]int, len(syms))
	for i, s := range syms {
		ids[i] = t.vocab[s]
	}
	return ids
}

func FuzzBPEMatchesReference(f *testing.F) {
	m, err := Load()
	if err != nil {
		f.Skip(err)
	}
	for _, s := range []string{"func", " main", "aaaaaaaa", "    ", "\n\t\t\t", "ErrUnexpectedEOF", "é", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, word string) {
		if len(word) == 0 || len(word) > 200 {
			return
		}
		var w bpeWork
		got := m.Tok.bpe(nil, word, &w)
		if want := referenceBPE(m.Tok, word); !equalInts(got, want) {
			t.Fatalf("bpe(%q) = %v, reference %v", word, got, want)
		}
	})
}

func FuzzRealTokenizerRoundTrip(f *testing.F) {
	m, err := Load()
	if err != nil {
		f.Skip(err)
	}
	for _, s := range []string{"func main() {\n\tfmt.Println(\"hi\")\n}", "é\xc3", "\xff<|endoftext|>x", "  \t\n 's 'll", "🎉 ٣ Ⅻ"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := m.Tok.Decode(m.Tok.Encode(string(in)), false)
		if err != nil || !bytes.Equal(in, out) {
			t.Fatalf("round trip of %q gave %q, %v", in, out, err)
		}
	})
}

// TestLongWord: one 200 KB pre-token encodes (the heap merge keeps this
// O(n log n); the textbook loop is quadratic).
func TestLongWord(t *testing.T) {
	m, err := Load()
	if err != nil {
		t.Skip(err)
	}
	word := strings.Repeat("abcdefghij", 20000)
	ids := m.Tok.Encode(word)
	out, _ := m.Tok.Decode(ids, false)
	if string(out) != word {
		t.Fatal("long word did not round-trip")
	}
}
