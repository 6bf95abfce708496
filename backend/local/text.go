package local

import "github.com/twinkle-sh/twinkle/backend/wire"

// DecodeText is Decode as text, for prompts given as ids and /detokenize: bytes that
// split a UTF-8 character show as U+FFFD, as vLLM's detokenizer shows them.
func (t *Tokenizer) DecodeText(ids []int, skipSpecial bool) (string, error) {
	b, err := t.Decode(ids, skipSpecial)
	if err != nil {
		return "", err
	}
	return wire.Lossy(b), nil
}
