package explore

import (
	"encoding/json"
	"fmt"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/params"
	"github.com/twinkle-sh/twinkle/store"
)

// A tree's JSON, a field of a saved session, holds everything a reload needs to build
// the same tree: the prompt, and per node its parent, fork, the chosen and sampled
// tokens, and each run's prefix, parameters and SampleResponse (one sample). A node's
// text and tokens are not stored twice: they are rebuilt from its parent and runs.
//
//	{"api": "completion", "prompt": "...", "prompt_ids": [..], "prompt_ids_from": "response",
//	 "nodes": [
//	   {"id": 0, "parent": null, "runs": [{"params": {...}, "n": 4, "logprobs": 5,
//	     "sample": 0, "samples": 4, "response": {...}}]},
//	   {"id": 4, "parent": 0, "fork": 12,
//	    "chosen": {"text": " a", "id": 264, "logprob": -2.1},
//	    "sampled": {"text": " the", "id": 279, "logprob": -0.4},
//	    "runs": [{"continue": {"text": "...", "ids": [..], "generated": 13}, ...}]}]}
type treeJSON struct {
	API           params.API        `json:"api"`
	Model         string            `json:"model,omitempty"`
	Messages      []backend.Message `json:"messages,omitempty"`
	Prompt        string            `json:"prompt,omitempty"`
	PromptIDs     []backend.TokenID `json:"prompt_ids,omitempty"`
	PromptIDsFrom IDSource          `json:"prompt_ids_from,omitempty"`
	Nodes         []nodeJSON        `json:"nodes"`
}

type nodeJSON struct {
	ID      int       `json:"id"`
	Parent  *int      `json:"parent"`
	Fork    *int      `json:"fork,omitempty"`
	Chosen  *pickJSON `json:"chosen,omitempty"`
	Sampled *pickJSON `json:"sampled,omitempty"`
	Runs    []runJSON `json:"runs"`
}

type pickJSON struct {
	Text    string           `json:"text"`
	ID      *backend.TokenID `json:"id,omitempty"`
	Logprob backend.Logprob  `json:"logprob"`
}

// UnmarshalJSON reads a missing logprob as unknown, not as 0 (certainty).
func (p *pickJSON) UnmarshalJSON(b []byte) error {
	type plain pickJSON
	q := plain{Logprob: backend.Unknown()}
	if err := json.Unmarshal(b, &q); err != nil {
		return err
	}
	*p = pickJSON(q)
	return nil
}

type runJSON struct {
	Continue       *backend.Continuation `json:"continue,omitempty"`
	Params         params.SamplingParams `json:"params"`
	N              int                   `json:"n"`
	Logprobs       *int                  `json:"logprobs"`
	PromptLogprobs *int                  `json:"prompt_logprobs,omitempty"`
	// Advanced is in a session file's form: a branch keeps every vLLM field the run sent.
	Advanced *store.Advanced        `json:"advanced,omitempty"`
	Sample   int                    `json:"sample"`
	Samples  int                    `json:"samples"`
	Response backend.SampleResponse `json:"response"`
}

func pickOut(p *Pick) *pickJSON {
	if p == nil {
		return nil
	}
	j := &pickJSON{Text: p.Text, Logprob: p.Logprob}
	if p.ID != backend.NoTokenID {
		id := p.ID
		j.ID = &id
	}
	return j
}

func pickIn(j *pickJSON) *Pick {
	if j == nil {
		return nil
	}
	p := &Pick{Text: j.Text, ID: backend.NoTokenID, Logprob: j.Logprob}
	if j.ID != nil {
		p.ID = *j.ID
	}
	return p
}

// MarshalJSON writes the tree as its JSON shape above (a value receiver, so a Tree held
// by value in a session struct marshals the same way).
func (t Tree) MarshalJSON() ([]byte, error) {
	j := treeJSON{API: t.API, Model: t.Model, Messages: t.Messages, Prompt: t.Prompt, PromptIDs: t.PromptIDs,
		PromptIDsFrom: t.PromptIDsFrom, Nodes: make([]nodeJSON, len(t.nodes))}
	for i, n := range t.nodes {
		nj := nodeJSON{ID: n.ID, Chosen: pickOut(n.Chosen), Sampled: pickOut(n.Sampled), Runs: make([]runJSON, len(n.Runs))}
		if n.Parent != NoParent {
			parent, fork := n.Parent, n.Fork
			nj.Parent, nj.Fork = &parent, &fork
		}
		for k, r := range n.Runs {
			nj.Runs[k] = runJSON{Continue: r.Continue, Params: r.Params, N: r.Options.N, Logprobs: r.Options.Logprobs,
				PromptLogprobs: r.Options.PromptLogprobs, Advanced: store.AdvancedOf(r.Options.Advanced), Sample: r.Sample,
				Samples: r.Samples, Response: r.Response}
		}
		j.Nodes[i] = nj
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads a tree and checks it whole: node ids count from 0 in order, a
// parent comes before its children, a fork lies within its parent's tokens and its
// sampled token is the parent's token there, every run holds one sample. An error names
// the field at fault (nodes[3].fork) and t is left as it was.
func (t *Tree) UnmarshalJSON(b []byte) error {
	var j treeJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("tree: %w", err)
	}
	if j.API != params.Chat && j.API != params.Completion {
		return fmt.Errorf("tree: api: want %q or %q, got %q", params.Chat, params.Completion, j.API)
	}
	nt := &Tree{API: j.API, Model: j.Model, Messages: j.Messages, Prompt: j.Prompt, PromptIDs: j.PromptIDs, PromptIDsFrom: j.PromptIDsFrom}
	for i, nj := range j.Nodes {
		at := fmt.Sprintf("tree: nodes[%d]", i)
		if nj.ID != i {
			return fmt.Errorf("%s.id: %d, want %d: ids count from 0 in order", at, nj.ID, i)
		}
		n := &Node{ID: i, Parent: NoParent, Chosen: pickIn(nj.Chosen), Sampled: pickIn(nj.Sampled)}
		if nj.Parent != nil {
			if err := nt.checkFork(at, nj, n); err != nil {
				return err
			}
		} else if nj.Fork != nil || nj.Chosen != nil || nj.Sampled != nil {
			return fmt.Errorf("%s: a root (parent null) has no fork, chosen or sampled token", at)
		}
		for k, rj := range nj.Runs {
			if got := samplesIn(rj.Response); got != 1 {
				return fmt.Errorf("%s.runs[%d].response: holds %d samples, want 1", at, k, got)
			}
			if rj.Samples < 1 || rj.Sample < 0 || rj.Sample >= rj.Samples {
				return fmt.Errorf("%s.runs[%d]: sample %d of %d", at, k, rj.Sample, rj.Samples)
			}
			n.Runs = append(n.Runs, Run{Continue: rj.Continue, Params: rj.Params, Sample: rj.Sample, Samples: rj.Samples, Response: rj.Response,
				Options: params.Options{N: rj.N, Logprobs: rj.Logprobs, PromptLogprobs: rj.PromptLogprobs, Advanced: rj.Advanced.Params()}})
		}
		nt.nodes = append(nt.nodes, n)
	}
	*t = *nt
	return nil
}

// checkFork checks a child's parent, fork and picks against the tree read so far.
func (t *Tree) checkFork(at string, nj nodeJSON, n *Node) error {
	parent := *nj.Parent
	if parent < 0 || parent >= nj.ID {
		return fmt.Errorf("%s.parent: %d is not an earlier node", at, parent)
	}
	if nj.Fork == nil || nj.Chosen == nil || nj.Sampled == nil {
		return fmt.Errorf("%s: a branch needs fork, chosen and sampled", at)
	}
	toks := t.Tokens(parent)
	fork := *nj.Fork
	if fork < 0 || fork >= len(toks) {
		return fmt.Errorf("%s.fork: %d is outside the parent's %d tokens", at, fork, len(toks))
	}
	if s := n.Sampled; s.Text != toks[fork].Text || s.ID != toks[fork].ID {
		return fmt.Errorf("%s.sampled: %q is not the parent's token %q at %d", at, s.Text, toks[fork].Text, fork)
	}
	n.Parent, n.Fork = parent, fork
	return nil
}
