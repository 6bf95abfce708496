package params

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Formats lists the export formats, in the order the export view shows them.
var formats = []string{"twinkle", "vllm", "transformers", "openai", "curl"}

// Formats returns the export format names.
func Formats() []string { return append([]string(nil), formats...) }

// Target says what an export is for: which API, model and endpoint, and the prompt.
// It never holds an API key: exports refer to $OPENAI_API_KEY instead.
type Target struct {
	API      API
	Model    string
	Endpoint string // OpenAI base URL, e.g. http://localhost:8000/v1
	System   string // chat only
	Prompt   string
	// Messages is the whole conversation, in order (chat only). When set, it is what
	// is exported, and System and Prompt are not read.
	Messages []Message
	Options  Options
}

// Message is one turn of a chat conversation.
type Message struct {
	Role    string
	Content string
}

// chatMessages is the conversation t sends in chat mode: Messages, else the
// system message (when set) and one user turn.
func (t Target) chatMessages() []Message {
	if len(t.Messages) > 0 {
		return t.Messages
	}
	var out []Message
	if t.System != "" {
		out = append(out, Message{"system", t.System})
	}
	return append(out, Message{"user", t.Prompt})
}

// writeConversation writes, in chat mode with a conversation given, the
// conversation as a Python list named messages, after a comment saying where
// it goes.
func writeConversation(b *strings.Builder, t Target, use string) {
	if t.API != Chat || len(t.Messages) == 0 {
		return
	}
	fmt.Fprintf(b, "# The conversation, in order: %s\n", use)
	b.WriteString("messages = [\n")
	for _, m := range t.Messages {
		fmt.Fprintf(b, "    {%s: %s, %s: %s},\n", pyString("role"), pyString(m.Role), pyString("content"), pyString(m.Content))
	}
	b.WriteString("]\n")
}

func (t Target) withDefaults() Target {
	if t.API == "" {
		t.API = Chat
	}
	if t.Model == "" {
		t.Model = "MODEL"
	}
	if t.Endpoint == "" {
		t.Endpoint = "http://localhost:8000/v1"
	}
	return t
}

// Export renders p as code in one of Formats.
func Export(format string, p SamplingParams, t Target) (string, error) {
	t = t.withDefaults()
	if err := p.Validate(); err != nil {
		return "", err
	}
	if err := t.Options.Validate(p); err != nil {
		return "", err
	}
	if t.Options.GreedyConflict(p) {
		// Every target refuses it: vLLM with a 400, generate with a ValueError.
		return "", fmt.Errorf("%w (got n=%d)", ErrGreedyN, t.Options.N)
	}
	if texts := t.Options.Advanced.Unresolved(); len(texts) > 0 {
		// An export has no server to tokenize with, and no format takes text.
		return "", &UnresolvedError{Texts: texts}
	}
	if keys := t.Options.Advanced.ChatOnly(); len(keys) > 0 && t.API == Completion && (format == "openai" || format == "curl") {
		// The request would leave them out: say so rather than export less than was set.
		return "", fmt.Errorf("%s: a completion request has no chat template to read it; use chat mode, or unset it", strings.Join(keys, ", "))
	}
	switch format {
	case "twinkle":
		return exportTwinkle(p, t), nil
	case "vllm":
		return exportVLLM(p, t)
	case "transformers":
		return exportTransformers(p, t)
	case "openai":
		body, err := RequestBody(p, t)
		if err != nil {
			return "", err
		}
		return indentJSON(body) + "\n", nil
	case "curl":
		return exportCurl(p, t)
	}
	return "", fmt.Errorf("unknown format %q (want one of %s)", format, strings.Join(formats, ", "))
}

// RequestBody is the full OpenAI-compatible request for t: model, the prompt or
// messages, then every sampling field from ToVLLM.
func RequestBody(p SamplingParams, t Target) ([]byte, error) {
	t = t.withDefaults()
	f := Fields{{"model", t.Model}}
	if t.API == Chat {
		msgs := []Fields{}
		for _, m := range t.chatMessages() {
			msgs = append(msgs, Fields{{"role", m.Role}, {"content", m.Content}})
		}
		f = append(f, Field{"messages", msgs})
	} else {
		f = append(f, Field{"prompt", t.Prompt})
	}
	sampling, err := p.ToVLLM(t.API, t.Options)
	if err != nil {
		return nil, err
	}
	f = append(f, sampling...)
	return f.MarshalJSON()
}

func indentJSON(b []byte) string {
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return string(b)
	}
	return out.String()
}

func exportTwinkle(p SamplingParams, t Target) string {
	var b strings.Builder
	b.WriteString("from twinkle.data_format import SamplingParams\n\nparams = SamplingParams(\n")
	kw := Fields{
		{"max_tokens", p.MaxTokens},
		{"seed", p.Seed},
		{"stop", twinkleStop(p.Stop)},
		{"temperature", p.Temperature},
		{"top_k", p.TopK},
		{"top_p", p.TopP},
		{"repetition_penalty", p.RepetitionPenalty},
	}
	writeKwargs(&b, kw)
	b.WriteString(")\n")
	// What twinkle's format cannot hold is named, with vLLM's own spelling of it.
	if len(p.Stop.Strings) > 0 && len(p.Stop.TokenIDs) > 0 {
		fmt.Fprintf(&b, "# twinkle's stop holds strings or token ids, not both: the stop token ids %s are\n", pyLiteral(p.Stop.TokenIDs))
		fmt.Fprintf(&b, "# left out here (in vLLM: stop_token_ids=%s).\n", pyLiteral(p.Stop.TokenIDs))
	}
	if extra := twinkleLacks(t.Options.Advanced); len(extra) > 0 {
		b.WriteString("# twinkle's SamplingParams has no field for these vLLM settings, left out here\n")
		b.WriteString("# (in vLLM's SamplingParams):\n")
		for _, kv := range extra {
			fmt.Fprintf(&b, "#   %s=%s,\n", kv.Key, pyLiteral(kv.Value))
		}
	}
	args := []string{"num_samples=" + strconv.Itoa(t.Options.Samples())}
	if k := t.Options.Logprobs; k != nil {
		args = append(args, "logprobs=True")
		fmt.Fprintf(&b, "# twinkle's to_vllm takes logprobs as on or off: it cannot ask for the top-%d\n", *k)
		fmt.Fprintf(&b, "# alternatives per token (in vLLM: logprobs=%d).\n", *k)
	}
	if t.Options.PromptLogprobs != nil {
		args = append(args, "prompt_logprobs="+strconv.Itoa(*t.Options.PromptLogprobs))
	}
	fmt.Fprintf(&b, "vllm_params = params.to_vllm(%s)\n", strings.Join(args, ", "))
	writeConversation(&b, t, "llm.chat(messages, vllm_params) with vLLM's LLM.")
	if kw := templateKwargs(t.Options.Advanced); kw != "" {
		b.WriteString("# The reasoning switches are chat request fields, not SamplingParams: with vLLM's LLM,\n")
		fmt.Fprintf(&b, "#   llm.chat(messages, vllm_params, chat_template_kwargs=%s)\n", kw)
	}
	return b.String()
}

// templateKwargs is the chat template's keyword arguments that carry the reasoning
// switches set, as a Python dict, or "" when none is set. vLLM's server hands
// reasoning_effort to the template this way too.
func templateKwargs(a Advanced) string {
	var parts []string
	if a.EnableThinking != nil {
		parts = append(parts, pyString("enable_thinking")+": "+pyLiteral(*a.EnableThinking))
	}
	if a.ReasoningEffort != "" {
		parts = append(parts, pyString("reasoning_effort")+": "+pyString(a.ReasoningEffort))
	}
	if len(parts) == 0 {
		return ""
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// twinkleLacks is every advanced field set away from vLLM's default, as vLLM's
// SamplingParams keywords.
func twinkleLacks(a Advanced) Fields {
	minP, rest, err := a.vllmFields()
	if err != nil {
		return nil // Export refuses unresolved text before this
	}
	if a.MinP == 0 {
		return rest
	}
	return append(Fields{minP}, rest...)
}

// twinkleStop is what twinkle's stop union (a string, strings, or token ids) can hold of
// s: a lone string stays a string; with both strings and ids, the strings.
func twinkleStop(s Stop) any {
	switch {
	case s.IsZero():
		return nil
	case s.isLone():
		return s.Strings[0]
	case len(s.Strings) > 0:
		return s.Strings
	}
	return s.TokenIDs
}

func exportVLLM(p SamplingParams, t Target) (string, error) {
	f, err := p.ToVLLM(Completion, t.Options)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("from vllm import SamplingParams\n\n")
	if p.MaxTokens == nil {
		b.WriteString("# max_tokens=None: generate up to the context length (offline vLLM's default is 16).\n")
	}
	b.WriteString("sampling_params = SamplingParams(\n")
	writeKwargs(&b, f)
	b.WriteString(")\n")
	writeConversation(&b, t, "llm.chat(messages, sampling_params).")
	if kw := templateKwargs(t.Options.Advanced); kw != "" {
		b.WriteString("# The reasoning switches are chat request fields, not SamplingParams:\n")
		fmt.Fprintf(&b, "#   llm.chat(messages, sampling_params, chat_template_kwargs=%s)\n", kw)
	}
	return b.String(), nil
}

func exportTransformers(p SamplingParams, t Target) (string, error) {
	call, err := p.ToTransformers(t.Options)
	if err != nil {
		return "", err
	}
	kw := call.Kwargs
	var b strings.Builder
	b.WriteString("from transformers import set_seed\n\n")
	writeConversation(&b, t, "inputs = tokenizer.apply_chat_template(messages,\n#   add_generation_prompt=True, return_dict=True, return_tensors=\"pt\")")
	if call.Seed != nil {
		fmt.Fprintf(&b, "set_seed(%d)\n", *call.Seed)
		if n := t.Options.Samples(); n > 1 {
			fmt.Fprintf(&b, "# vLLM draws sample i with seed %d+i; generate draws all %d from one generator,\n", *call.Seed, n)
			b.WriteString("# so the samples are not vLLM's.\n")
		}
	}
	if len(call.StopTokenIDs) > 0 {
		b.WriteString("# Stop token ids are added to the model's own EOS ids, as vLLM adds stop_token_ids\n")
		b.WriteString("# (generate's eos_token_id replaces them).\n")
		b.WriteString("eos_token_id = model.generation_config.eos_token_id\n")
		b.WriteString("if eos_token_id is None:\n    eos_token_id = []\n")
		b.WriteString("elif isinstance(eos_token_id, int):\n    eos_token_id = [eos_token_id]\n")
		fmt.Fprintf(&b, "eos_token_id = list(eos_token_id) + %s\n", pyLiteral(call.StopTokenIDs))
		kw = append(kw, Field{"eos_token_id", pyRaw("eos_token_id")})
	}
	if p.MaxTokens == nil {
		b.WriteString("# max_tokens unset: generate stops at generation_config.max_length (often 20 tokens,\n")
		b.WriteString("# prompt included), where vLLM's chat endpoint goes on to the end of the context.\n")
	}
	if t.Options.PromptLogprobs != nil {
		b.WriteString("# generate returns no prompt logprobs: model(**inputs).logits holds them.\n")
	}
	if kw := templateKwargs(t.Options.Advanced); kw != "" {
		b.WriteString("# The reasoning switches are read by the chat template: build inputs with\n")
		fmt.Fprintf(&b, "#   tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_dict=True,\n#       return_tensors=\"pt\", **%s)\n", kw)
	}
	writeTransformersLacks(&b, p, t.Options.Advanced)
	if len(call.BadWords) > 0 {
		b.WriteString("# bad_words tokenized as vLLM does: each word without and with a leading space. generate\n")
		b.WriteString("# blocks a word's last token after its earlier ones, as vLLM does, but looks for those\n")
		b.WriteString("# in the prompt too, where vLLM looks in the output only.\n")
		b.WriteString("bad_words_ids = []\n")
		fmt.Fprintf(&b, "for word in %s:\n", pyLiteral(uniqueStrings(call.BadWords)))
		b.WriteString("    plain = tokenizer.encode(word.lstrip(), add_special_tokens=False)\n")
		b.WriteString("    bad_words_ids.append(plain)\n")
		b.WriteString("    spaced = tokenizer.encode(\" \" + word.lstrip(), add_special_tokens=False)\n")
		b.WriteString("    if spaced and spaced[0] != plain[0] and len(spaced) == len(plain):\n")
		b.WriteString("        bad_words_ids.append(spaced)\n")
		kw = append(kw, Field{"bad_words_ids", pyRaw("bad_words_ids")})
	}
	if len(p.Stop.Strings) > 0 {
		b.WriteString("# stop_strings only work when the tokenizer is passed to generate.\n")
		kw = append(kw, Field{"tokenizer", pyRaw("tokenizer")})
	}
	b.WriteString("outputs = model.generate(\n    **inputs,\n")
	writeKwargs(&b, kw)
	b.WriteString(")\n")
	if k := call.Logprobs; k != nil {
		b.WriteString("# outputs.sequences: the prompt, then each sample. outputs.logits: one tensor per\n")
		b.WriteString("# generated token, (samples, vocabulary), raw as vLLM's logprobs are (output_scores\n")
		b.WriteString("# would be after temperature, top-k/top-p and penalties). Logprobs of step i:\n")
		b.WriteString("#   logprobs = outputs.logits[i].float().log_softmax(dim=-1)\n")
		fmt.Fprintf(&b, "#   top_logprobs, top_token_ids = logprobs.topk(%d, dim=-1)\n", *k)
		b.WriteString("#   sampled = logprobs.gather(-1, outputs.sequences[:, inputs[\"input_ids\"].shape[1] + i, None])\n")
	}
	return b.String(), nil
}

// writeTransformersLacks says, as comments, what generate does differently or cannot do
// of the advanced fields that are set.
func writeTransformersLacks(b *strings.Builder, p SamplingParams, a Advanced) {
	if a.PresencePenalty != 0 || a.FrequencyPenalty != 0 {
		b.WriteString("# generate has no presence or frequency penalty, so these vLLM settings are not applied:\n")
		if a.PresencePenalty != 0 {
			fmt.Fprintf(b, "#   presence_penalty=%s, subtracted once from the logit of each token in the output;\n", pyLiteral(a.PresencePenalty))
		}
		if a.FrequencyPenalty != 0 {
			fmt.Fprintf(b, "#   frequency_penalty=%s, subtracted once per time the token is in the output.\n", pyLiteral(a.FrequencyPenalty))
		}
	}
	if a.MinP > 0 && !p.IsGreedy() && (p.TopK > 0 || p.TopP < 1) {
		b.WriteString("# generate applies min_p after top_k and top_p; vLLM applies it before them, so the\n")
		b.WriteString("# tokens kept can differ.\n")
	}
	if a.MinTokens > 0 && len(p.Stop.Strings) > 0 {
		b.WriteString("# vLLM looks for stop strings only after min_tokens; generate looks from the start.\n")
	}
	if a.IgnoreEOS {
		b.WriteString("# ignore_eos=True: generate has no such switch; it stops at the model's EOS, where vLLM\n")
		b.WriteString("# goes on.\n")
	}
	if a.IncludeStopStrInOutput {
		b.WriteString("# include_stop_str_in_output=True: generate's output keeps the stop string anyway.\n")
	}
}

// uniqueStrings drops repeats, keeping the first of each, as vLLM dedups bad_words.
func uniqueStrings(ss []string) []string {
	var out []string
	for _, s := range ss {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func exportCurl(p SamplingParams, t Target) (string, error) {
	body, err := RequestBody(p, t)
	if err != nil {
		return "", err
	}
	path := "/chat/completions"
	if t.API == Completion {
		path = "/completions"
	}
	url := strings.TrimRight(t.Endpoint, "/") + path
	var b strings.Builder
	fmt.Fprintf(&b, "curl -sS %s \\\n", shellQuote(url))
	b.WriteString("  -H 'Content-Type: application/json' \\\n")
	b.WriteString("  -H \"Authorization: Bearer ${OPENAI_API_KEY:-EMPTY}\" \\\n")
	fmt.Fprintf(&b, "  -d %s\n", shellQuote(indentJSON(body)))
	return b.String(), nil
}

// shellQuote single-quotes s for POSIX shells; nothing inside single quotes is special
// except the quote itself.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

type pyRaw string

func writeKwargs(b *strings.Builder, f Fields) {
	for _, kv := range f {
		fmt.Fprintf(b, "    %s=%s,\n", kv.Key, pyLiteral(kv.Value))
	}
}

// pyLiteral writes a Python literal for the value types params produces.
func pyLiteral(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case pyRaw:
		return string(x)
	case bool:
		if x {
			return "True"
		}
		return "False"
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case *int:
		if x == nil {
			return "None"
		}
		return strconv.Itoa(*x)
	case *int64:
		if x == nil {
			return "None"
		}
		return strconv.FormatInt(*x, 10)
	case float64:
		s := strconv.FormatFloat(x, 'g', -1, 64)
		if !strings.ContainsAny(s, ".e") {
			s += ".0"
		}
		return s
	case string:
		return pyString(x)
	case []string:
		parts := make([]string, len(x))
		for i, s := range x {
			parts[i] = pyString(s)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case []int:
		parts := make([]string, len(x))
		for i, n := range x {
			parts[i] = strconv.Itoa(n)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = pyLiteral(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case biasDict:
		return x.python()
	case sequenceBias:
		parts := make([]string, len(x))
		for i, b := range x {
			parts[i] = "[[" + strconv.Itoa(b.ID) + "], " + pyLiteral(ClampBias(b.Bias)) + "]"
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	panic(fmt.Sprintf("params: no Python literal for %T", v))
}

// pyString writes a double-quoted Python string literal. Printable characters stay as
// they are; quotes, backslashes, controls, bidi overrides and other invisible
// characters are escaped, so the exported code reads exactly as it runs.
func pyString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			// Not UTF-8: Python source cannot hold the byte; write the replacement the
			// server would see after its own decoding.
			b.WriteString(`\ufffd`)
			i++
			continue
		}
		i += size
		switch r {
		case '\\':
			b.WriteString(`\\`)
		case '"':
			b.WriteString(`\"`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			switch {
			case r < 0x20 || r == 0x7f:
				fmt.Fprintf(&b, `\x%02x`, r)
			case r < 0x80:
				b.WriteRune(r)
			case unicode.IsPrint(r) && !unicode.Is(unicode.Cf, r):
				b.WriteRune(r)
			case r <= 0xffff:
				fmt.Fprintf(&b, `\u%04x`, r)
			default:
				fmt.Fprintf(&b, `\U%08x`, r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}
