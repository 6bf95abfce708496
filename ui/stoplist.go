package ui

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/twinkle-sh/twinkle/params"
)

// formatStopList writes a stop list the way the stop editor shows and reads
// it: each string quoted with escapes made visible ("\n" as the two
// characters \n), each token id bare: `"###" "\n" 2`.
func formatStopList(s params.Stop) string {
	parts := make([]string, 0, len(s.Strings)+len(s.TokenIDs))
	for _, str := range s.Strings {
		parts = append(parts, `"`+strings.ReplaceAll(params.Escape(str), `"`, `\"`)+`"`)
	}
	for _, id := range s.TokenIDs {
		parts = append(parts, strconv.Itoa(id))
	}
	return strings.Join(parts, " ")
}

// parseStopList reads what formatStopList writes; errors name the item and
// the column where it starts, so a typo is easy to find.
func parseStopList(text string) (params.Stop, error) {
	var out params.Stop
	i := 0
	for i < len(text) {
		switch c := text[i]; {
		case c == ' ' || c == ',' || c == '\t':
			i++
		case c == '"':
			j := i + 1
			for j < len(text) && text[j] != '"' {
				if text[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(text) {
				return params.Stop{}, fmt.Errorf("stop: string starting at column %d has no closing quote", i+1)
			}
			s, err := params.Unescape(text[i+1 : j])
			if err != nil {
				return params.Stop{}, fmt.Errorf("stop: string at column %d: %v", i+1, err)
			}
			if s == "" {
				return params.Stop{}, fmt.Errorf("stop: empty string at column %d (vLLM rejects it)", i+1)
			}
			out.Strings = append(out.Strings, s)
			i = j + 1
		default:
			j := i
			for j < len(text) && text[j] != ' ' && text[j] != ',' && text[j] != '\t' {
				j++
			}
			n, err := strconv.Atoi(text[i:j])
			if err != nil || n < 0 {
				return params.Stop{}, fmt.Errorf("stop: %q at column %d is neither a quoted string nor a token id", text[i:j], i+1)
			}
			out.TokenIDs = append(out.TokenIDs, n)
			i = j
		}
	}
	return out, nil
}
