package wire

import "unicode/utf8"

// vLLM decodes each token on its own to report it in logprobs, with the tokenizer's
// from_utf8_lossy (Rust's String::from_utf8_lossy for Hugging Face tokenizers, Python's
// errors="replace" otherwise): every maximal invalid subpart of the bytes becomes one
// U+FFFD. A token that holds part of a multibyte character is therefore reported as "\ufffd"
// (one for a lead byte with some of its continuation bytes, one per stray continuation
// byte), while the streamed text holds the character back until all its bytes arrived.
// These functions are that decoding, shared by the servers that imitate vLLM and by the
// client that undoes it.

// Replacement is U+FFFD as vLLM writes it for bytes that are not a whole character.
const Replacement = "\uFFFD"

// Lossy decodes b as vLLM reports a token's text: valid UTF-8 is kept, each maximal
// invalid subpart becomes one U+FFFD.
func Lossy(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	out := make([]byte, 0, len(b)+8)
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size <= 1 {
			out = append(out, Replacement...)
			b = b[InvalidPrefixLen(b):]
			continue
		}
		out = append(out, b[:size]...)
		b = b[size:]
	}
	return string(out)
}

// LossyEqual reports whether Lossy(b) == t, without building Lossy(b).
func LossyEqual(b []byte, t string) bool {
	rest, ok := lossyPrefix(b, t)
	return ok && rest == ""
}

// LossyStarts reports whether Lossy(b) is a proper prefix of t: b could be the first bytes
// of a token whose text is t, with more of its bytes still to come. b must not end inside
// a character that later bytes could complete (streamed text never does).
func LossyStarts(b []byte, t string) bool {
	rest, ok := lossyPrefix(b, t)
	return ok && rest != ""
}

// lossyPrefix matches Lossy(b) against the start of t and returns what of t is left.
func lossyPrefix(b []byte, t string) (string, bool) {
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size <= 1 {
			if len(t) < len(Replacement) || t[:len(Replacement)] != Replacement {
				return t, false
			}
			t = t[len(Replacement):]
			b = b[InvalidPrefixLen(b):]
			continue
		}
		if len(t) < size || t[:size] != string(b[:size]) {
			return t, false
		}
		t, b = t[size:], b[size:]
	}
	return t, true
}

// InvalidPrefixLen is the length of the maximal subpart at the start of b, which does not
// start with a valid character: the bytes that one U+FFFD stands for (at least 1), per the
// Unicode "maximal subpart" practice that from_utf8_lossy follows.
func InvalidPrefixLen(b []byte) int {
	c := b[0]
	var need int
	lo, hi := byte(0x80), byte(0xBF)
	switch {
	case c >= 0xC2 && c <= 0xDF:
		need = 1
	case c == 0xE0:
		need, lo = 2, 0xA0
	case c >= 0xE1 && c <= 0xEC, c == 0xEE, c == 0xEF:
		need = 2
	case c == 0xED:
		need, hi = 2, 0x9F
	case c == 0xF0:
		need, lo = 3, 0x90
	case c >= 0xF1 && c <= 0xF3:
		need = 3
	case c == 0xF4:
		need, hi = 3, 0x8F
	default:
		return 1
	}
	n := 1
	for i := 0; i < need && n < len(b); i++ {
		if b[n] < lo || b[n] > hi {
			break
		}
		lo, hi = 0x80, 0xBF
		n++
	}
	return n
}

// CompletePrefix is how many leading bytes of b a vLLM-style detokenizer releases: all of
// them unless b ends inside a character that later bytes may still complete, which it holds
// back (and never releases if the sample ends first).
func CompletePrefix(b []byte) int {
	for back := 1; back <= 3 && back <= len(b); back++ {
		i := len(b) - back
		c := b[i]
		if c < 0x80 {
			return len(b)
		}
		if c < 0xC0 {
			continue // a continuation byte: its lead is further back
		}
		if c >= 0xC2 && c <= 0xF4 && InvalidPrefixLen(b[i:]) == back && back < seqLen(c) {
			return i
		}
		return len(b)
	}
	return len(b)
}

func seqLen(c byte) int {
	switch {
	case c >= 0xF0:
		return 4
	case c >= 0xE0:
		return 3
	case c >= 0xC0:
		return 2
	}
	return 1
}
