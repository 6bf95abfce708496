package backend

import (
	"encoding/json"
	"strings"
)

// placeJSON is a token's place as `twinkle sample` writes it, beside the token's text as
// the server sent it: "start" and "end" are byte offsets into the assistant content (null
// when the token is not in it), so content[start:end] is the token's bytes, exact even
// where the server's text reads "\ufffd". A token holding part of the stop string the
// server cut off has offsets past the content's end, counted as if the stop string
// followed it, and "after_content". "split" names the characters a token shares with its
// neighbours and which of their tokens it is.
type placeJSON struct {
	Start     *int       `json:"start"`
	End       *int       `json:"end"`
	After     bool       `json:"after_content,omitempty"`
	Split     *splitJSON `json:"split,omitempty"`
	Ambiguous bool       `json:"ambiguous,omitempty"`
}

type splitJSON struct {
	Text  string `json:"text"`
	Start int    `json:"start"`
	End   int    `json:"end"`
	Part  int    `json:"part"`
	Parts int    `json:"parts"`
}

func (p *Place) json() *placeJSON {
	if p == nil {
		return nil
	}
	j := &placeJSON{After: p.Kind == InTail, Ambiguous: p.Ambiguous}
	if p.In() {
		s, e := p.Start, p.End
		j.Start, j.End = &s, &e
	}
	if s := p.Split; s.Parts > 0 {
		j.Split = &splitJSON{s.Text, s.Start, s.End, s.Part, s.Parts}
	}
	return j
}

// ifPresent is j when the token's JSON b has place fields ("start" is always written with
// them, null or not), else nil: a token written before alignment existed has no place.
func (j *placeJSON) ifPresent(b []byte) *placeJSON {
	var probe struct {
		Start json.RawMessage `json:"start"`
	}
	if json.Unmarshal(b, &probe) != nil || probe.Start == nil {
		return nil
	}
	return j
}

func (j *placeJSON) place() *Place {
	if j == nil {
		return nil
	}
	p := &Place{Ambiguous: j.Ambiguous}
	if j.Start != nil && j.End != nil {
		p.Kind, p.Start, p.End = InText, *j.Start, *j.End
		if j.After {
			p.Kind = InTail
		}
	}
	if s := j.Split; s != nil {
		p.Split = Split{s.Text, s.Start, s.End, s.Part, s.Parts}
	}
	return p
}

// placed returns a copy of toks with each token's Place from places (one per token).
func placed(toks []Token, places []Place) []Token {
	out := make([]Token, len(toks))
	copy(out, toks)
	for i := range out {
		if i < len(places) {
			p := places[i]
			out[i].Place = &p
		}
	}
	return out
}

// StopTail is what the server cut off a finished sample's content that its tokens still
// hold: the stop string that matched, unless the content already ends with it (the request
// asked to include it).
func StopTail(content string, by StoppedBy) string {
	if by.Kind != StoppedByString || strings.HasSuffix(content, by.String) {
		return ""
	}
	return by.String
}
