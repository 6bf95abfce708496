package openai

import (
	"strings"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/backend/wire"
)

// maxAlive bounds the partial matches carried from one prompt position to the next, so a
// hostile answer (a long run of one character, candidates of every length) costs little;
// a real prompt keeps one or two alive.
const maxAlive = 64

// promptTokens turns vLLM's per-position dicts into the prompt's Tokens. Each dict holds
// the prompt token and the top-K, keyed by token id in no promised order, so the prompt
// token is found by evidence, never by its place in the dict:
//
//   - by id, when prompt_token_ids name every position's token (PromptByID);
//   - else by matching (PromptMatched): within what the ids and ranks allow (the one
//     entry ranked below the top-K is the prompt token), the one choice per position
//     whose texts join back into prompt, the raw prompt sent (nil in chat mode, whose
//     templated text only the server knows: there only the ids and ranks can decide);
//   - else not at all (PromptUnaligned, no tokens): nothing, rather than another text.
//
// Top holds each position's top-K entries (rank <= K, or every entry but an extra prompt
// token), sorted.
func promptTokens(positions []wire.PromptPosition, ids []int, k int, prompt *string) ([]backend.Token, backend.PromptAlignment) {
	if len(ids) != len(positions) {
		ids = nil // ids that do not line up with the positions name nothing
	}
	self, align := selfByID(positions, ids)
	if self == nil {
		self, align = selfByMatch(positions, ids, k, prompt), backend.PromptMatched
		if self == nil {
			return nil, backend.PromptUnaligned
		}
	}
	out := make([]backend.Token, len(positions))
	for i, pos := range positions {
		t := backend.Token{Logprob: backend.Unknown(), ID: backend.NoTokenID}
		if ids != nil {
			t.ID = backend.TokenID(ids[i])
		}
		if j := self[i]; j >= 0 {
			e := pos[j]
			t.ID = backend.TokenID(e.TokenID)
			t.Logprob = backend.LogprobFromWire(e.Logprob)
			if e.DecodedToken != nil {
				t.Text = *e.DecodedToken
			}
		}
		for j, e := range pos {
			inTop := e.Rank != nil && *e.Rank <= k
			if e.Rank == nil {
				inTop = j != self[i] || len(pos) <= k
			}
			if !inTop || k == 0 {
				continue
			}
			t.Top = append(t.Top, backend.Alt{Text: decoded(e), Logprob: backend.LogprobFromWire(e.Logprob)})
		}
		sortAlts(t.Top)
		out[i] = t
	}
	return out, align
}

func decoded(e wire.PromptLogprob) string {
	if e.DecodedToken == nil {
		return ""
	}
	return *e.DecodedToken
}

// selfByID finds each position's prompt token by its id; nil unless every position with
// a dict holds the id prompt_token_ids names for it. -1 marks a position without a dict
// (the first: nothing precedes it).
func selfByID(positions []wire.PromptPosition, ids []int) ([]int, backend.PromptAlignment) {
	if ids == nil {
		return nil, ""
	}
	self := make([]int, len(positions))
	for i, pos := range positions {
		self[i] = -1
		if len(pos) == 0 {
			continue
		}
		self[i] = indexOfID(pos, ids[i])
		if self[i] < 0 {
			return nil, ""
		}
	}
	return self, backend.PromptByID
}

func indexOfID(pos wire.PromptPosition, id int) int {
	for j, e := range pos {
		if e.TokenID == id {
			return j
		}
	}
	return -1
}

// candidates are the entries of pos that may be the prompt token: the one the id names;
// else the only entry ranked below the top-K (vLLM adds the prompt token to the top-K
// when it is not among them); else every entry.
func candidates(pos wire.PromptPosition, id, k int) []int {
	if id >= 0 {
		if j := indexOfID(pos, id); j >= 0 {
			return []int{j}
		}
	}
	below := -1
	for j, e := range pos {
		if e.Rank != nil && *e.Rank > k {
			if below >= 0 {
				below = -2
				break
			}
			below = j
		}
	}
	if below >= 0 {
		return []int{below}
	}
	all := make([]int, len(pos))
	for j := range all {
		all[j] = j
	}
	return all
}

// selfByMatch picks each position's prompt token from its candidates: the single
// assignment whose texts join into the end of prompt (the first token, which has no dict,
// covers the rest), or, without a prompt, the candidates themselves when each position
// has one. nil when no assignment, or more than one, fits; when a position other than
// the leading ones has no dict; or when a candidate's text is unknown.
func selfByMatch(positions []wire.PromptPosition, ids []int, k int, prompt *string) []int {
	lead := 0
	for lead < len(positions) && len(positions[lead]) == 0 {
		lead++
	}
	cands := make([][]int, len(positions))
	single := true
	for i := lead; i < len(positions); i++ {
		if len(positions[i]) == 0 {
			return nil
		}
		id := -1
		if ids != nil {
			id = ids[i]
		}
		cands[i] = candidates(positions[i], id, k)
		single = single && len(cands[i]) == 1
	}
	self := make([]int, len(positions))
	for i := range self {
		self[i] = -1
	}
	if prompt == nil {
		if !single {
			return nil
		}
		for i := lead; i < len(positions); i++ {
			if positions[i][cands[i][0]].DecodedToken == nil {
				return nil
			}
			self[i] = cands[i][0]
		}
		return self
	}
	// Walk back from the end of the prompt: each layer holds the prompt lengths still
	// unexplained after positions i.. are matched, with how many assignments reach each
	// (capped at 2: more than one is as bad as many) and how the single one did.
	type state struct{ end, count, prev, cand int }
	text := *prompt
	layers := make([][]state, len(positions)+1)
	layers[len(positions)] = []state{{end: len(text), count: 1, prev: -1, cand: -1}}
	for i := len(positions) - 1; i >= lead; i-- {
		var next []state
		for si, st := range layers[i+1] {
			for _, j := range cands[i] {
				d := positions[i][j].DecodedToken
				if d == nil {
					continue
				}
				for _, end := range suffixStarts(text[:st.end], *d) {
					merged := false
					for n := range next {
						if next[n].end == end {
							next[n].count = min(2, next[n].count+st.count)
							merged = true
							break
						}
					}
					if !merged {
						next = append(next, state{end: end, count: st.count, prev: si, cand: j})
					}
				}
			}
		}
		if len(next) == 0 || len(next) > maxAlive {
			return nil
		}
		layers[i] = next
	}
	// With no position before lead, the match must cover the whole prompt.
	total, last := 0, -1
	for si, st := range layers[lead] {
		if lead == 0 && st.end != 0 {
			continue
		}
		total += st.count
		last = si
	}
	if total != 1 {
		return nil
	}
	for i, si := lead, last; i < len(positions); i++ {
		st := layers[i][si]
		self[i], si = st.cand, st.prev
	}
	return self
}

// suffixStarts is where a token whose decoded text is d can start, ending at the end of
// text: before d itself, or, for a token vLLM reports as "\ufffd" (part of a character,
// decoded alone), before each run of bytes that decodes alone to d.
func suffixStarts(text, d string) []int {
	if !backend.Partial(d) {
		if strings.HasSuffix(text, d) {
			return []int{len(text) - len(d)}
		}
		return nil
	}
	var out []int
	for l := max(1, len(d)-2*strings.Count(d, wire.Replacement)); l <= len(d) && l <= len(text); l++ {
		if wire.LossyEqual([]byte(text[len(text)-l:]), d) {
			out = append(out, len(text)-l)
		}
	}
	return out
}
