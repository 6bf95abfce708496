package params

import (
	"bytes"
	"errors"
	"fmt"
)

// Field is one key of a request body or kwargs dict.
type Field struct {
	Key   string
	Value any
}

// Fields is an ordered object: its JSON keeps the order, so exports and request bodies
// read the same way every time.
type Fields []Field

// Get returns the value under key.
func (f Fields) Get(key string) (any, bool) {
	for _, kv := range f {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return nil, false
}

// Set replaces key's value or appends it.
func (f Fields) Set(key string, v any) Fields {
	for i := range f {
		if f[i].Key == key {
			f[i].Value = v
			return f
		}
	}
	return append(f, Field{key, v})
}

// Without returns f less the named keys.
func (f Fields) Without(keys ...string) Fields {
	out := make(Fields, 0, len(f))
outer:
	for _, kv := range f {
		for _, k := range keys {
			if kv.Key == k {
				continue outer
			}
		}
		out = append(out, kv)
	}
	return out
}

// MarshalJSON writes an ordered JSON object without HTML escaping.
func (f Fields) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, kv := range f {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, err := marshalNoHTML(kv.Key)
		if err != nil {
			return nil, err
		}
		v, err := marshalNoHTML(kv.Value)
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", kv.Key, err)
		}
		buf.Write(k)
		buf.WriteByte(':')
		buf.Write(v)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// ErrGreedyN is returned when greedy sampling is asked for more than one sample: vLLM
// answers 400 ("n must be 1 when using greedy sampling"), so it is never sent.
var ErrGreedyN = errors.New("n must be 1 when using greedy sampling: temperature 0 gives the same sample every time")

// ToVLLM returns the sampling part of a vLLM OpenAI-compatible request body for api,
// as twinkle's to_vllm(num_samples, logprobs, prompt_logprobs). Every sampling field
// is present — temperature 0, top_k -1, a null seed — because an omitted field falls
// back to the model's generation_config, which no endpoint reports. Stop strings go to
// "stop", ids to vLLM's "stop_token_ids".
func (p SamplingParams) ToVLLM(api API, o Options) (Fields, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if err := o.Validate(p); err != nil {
		return nil, err
	}
	if o.GreedyConflict(p) {
		return nil, fmt.Errorf("%w (got n=%d)", ErrGreedyN, o.N)
	}
	stop := p.Stop.Strings
	if stop == nil {
		stop = []string{}
	}
	ids := p.Stop.TokenIDs
	if ids == nil {
		ids = []int{}
	}
	f := Fields{
		{"n", o.Samples()},
		{"max_tokens", p.MaxTokens},
		{"temperature", p.Temperature},
		{"top_p", p.TopP},
		{"top_k", p.TopK},
		{"repetition_penalty", p.RepetitionPenalty},
		{"seed", p.Seed},
		{"stop", stop},
		{"stop_token_ids", ids},
	}
	if o.Logprobs != nil {
		if api == Chat {
			f = append(f, Field{"logprobs", true}, Field{"top_logprobs", *o.Logprobs})
		} else {
			f = append(f, Field{"logprobs", *o.Logprobs})
		}
	}
	if o.PromptLogprobs != nil {
		f = append(f, Field{"prompt_logprobs", *o.PromptLogprobs})
	}
	return f, nil
}

// ToTransformers returns model.generate kwargs, as twinkle's
// to_transformers(tokenizer=...), and the seed for transformers.set_seed (nil: none).
// top_k off becomes 0 because generate's own default is 50. stop_strings only work when
// the tokenizer is passed to generate as well; stop ids go to eos_token_id.
func (p SamplingParams) ToTransformers() (Fields, *int64, error) {
	if err := p.Validate(); err != nil {
		return nil, nil, err
	}
	f := Fields{}
	if p.MaxTokens != nil {
		f = append(f, Field{"max_new_tokens", *p.MaxTokens})
	}
	if p.IsGreedy() {
		// Sampling knobs are ignored (and warned about) by generate when greedy.
		f = append(f, Field{"do_sample", false})
	} else {
		topK := p.TopK
		if topK < 0 {
			topK = 0
		}
		f = append(f, Field{"do_sample", true}, Field{"temperature", p.Temperature}, Field{"top_k", topK}, Field{"top_p", p.TopP})
	}
	f = append(f, Field{"repetition_penalty", p.RepetitionPenalty})
	if len(p.Stop.Strings) > 0 {
		f = append(f, Field{"stop_strings", p.Stop.Strings})
	}
	if len(p.Stop.TokenIDs) > 0 {
		f = append(f, Field{"eos_token_id", p.Stop.TokenIDs})
	}
	return f, p.Seed, nil
}
