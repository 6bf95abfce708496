package params

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
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
// back to the model's generation_config, which no endpoint reports; min_p, which
// generation_config can set too, is always present for the same reason. The other
// advanced fields are present only when set: vLLM's own defaults fill them. Stop
// strings go to "stop", ids to vLLM's "stop_token_ids". logit_bias text not yet
// resolved to token ids is an *UnresolvedError. The reasoning switches (reasoning_effort,
// chat_template_kwargs) go only into a chat request, each only when set: a completion
// has no template to read them (Advanced.ChatOnly names them for a caller to warn).
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
	minP, advanced, err := o.Advanced.vllmFields()
	if err != nil {
		return nil, err
	}
	f := Fields{
		{"n", o.Samples()},
		{"max_tokens", p.MaxTokens},
		{"temperature", p.Temperature},
		{"top_p", p.TopP},
		{"top_k", p.TopK},
		minP,
		{"repetition_penalty", p.RepetitionPenalty},
		{"seed", p.Seed},
		{"stop", stop},
		{"stop_token_ids", ids},
	}
	f = append(f, advanced...)
	if api == Chat {
		f = append(f, o.Advanced.chatFields()...)
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

// Transformers is a model.generate call for p and o, as twinkle's
// to_transformers(tokenizer=...) with the options a playground adds.
type Transformers struct {
	// Kwargs are generate's keyword arguments: top_k off becomes 0 (generate's own
	// default is 50); num_return_sequences is N; top-K logprobs ask for the raw logits
	// (output_logits, return_dict_in_generate), as vLLM's logprobs are raw by default,
	// where output_scores would be after temperature, top-k/top-p and penalties.
	// stop_strings work only when the tokenizer is passed to generate as well.
	Kwargs Fields
	// Seed is for transformers.set_seed; nil: none.
	Seed *int64
	// StopTokenIDs must be ADDED to the model's own EOS ids (model.generation_config.
	// eos_token_id), as vLLM merges stop_token_ids with them: generate's eos_token_id
	// replaces the model's ids, so it is not among Kwargs.
	StopTokenIDs []int
	// Logprobs is the top-K to take from the returned logits; nil: not asked for.
	Logprobs *int
	// BadWords become bad_words_ids only with the model's tokenizer, which generate
	// is not given: the export tokenizes them in Python as vLLM does.
	BadWords []string
}

// sequenceBias is logit_bias as generate's sequence_bias, in its list form
// [[[id], bias], ...], clamped as vLLM clamps it.
type sequenceBias []LogitBias

func (s sequenceBias) MarshalJSON() ([]byte, error) {
	items := make([]any, len(s))
	for i, b := range s {
		items[i] = []any{[]int{b.ID}, ClampBias(b.Bias)}
	}
	return marshalNoHTML(items)
}

// ToTransformers converts p and o for transformers' model.generate. Greedy sampling
// with several samples is refused (ErrGreedyN), as generate refuses
// num_return_sequences > 1 without sampling. Of the advanced fields, min_p,
// min_tokens (min_new_tokens) and logit_bias (sequence_bias) have a kwarg; bad_words
// are left in BadWords; the rest generate cannot do.
func (p SamplingParams) ToTransformers(o Options) (Transformers, error) {
	if err := p.Validate(); err != nil {
		return Transformers{}, err
	}
	if err := o.Validate(p); err != nil {
		return Transformers{}, err
	}
	if o.GreedyConflict(p) {
		return Transformers{}, fmt.Errorf("%w (got n=%d)", ErrGreedyN, o.N)
	}
	a := o.Advanced
	if texts := a.Unresolved(); len(texts) > 0 {
		return Transformers{}, &UnresolvedError{Texts: texts}
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
		if a.MinP > 0 {
			f = append(f, Field{"min_p", a.MinP})
		}
	}
	f = append(f, Field{"repetition_penalty", p.RepetitionPenalty})
	if a.MinTokens > 0 {
		f = append(f, Field{"min_new_tokens", a.MinTokens})
	}
	if len(a.LogitBias) > 0 {
		f = append(f, Field{"sequence_bias", sequenceBias(slices.Clone(a.LogitBias))})
	}
	if o.Samples() > 1 {
		f = append(f, Field{"num_return_sequences", o.Samples()})
	}
	if len(p.Stop.Strings) > 0 {
		f = append(f, Field{"stop_strings", p.Stop.Strings})
	}
	if o.Logprobs != nil {
		f = append(f, Field{"output_logits", true}, Field{"return_dict_in_generate", true})
	}
	return Transformers{Kwargs: f, Seed: p.Seed, StopTokenIDs: slices.Clone(p.Stop.TokenIDs), Logprobs: o.Logprobs, BadWords: slices.Clone(a.BadWords)}, nil
}
