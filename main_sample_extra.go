package main

// `twinkle sample` beyond one prompt: a conversation from a file (--messages), parameter
// sweeps (--sweep), endpoints side by side (--compare), a JSONL batch of prompts
// (--prompts) and the determinism check (--repeat). The work is done by backend (Collect,
// CheckDeterminism, ResponseStats), backend/convo (the file readers) and params
// (ParseSweep, SweepVariants); this file wires flags to them and writes the JSON.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/backend/convo"
	"github.com/twinkle-sh/twinkle/backend/local"
	"github.com/twinkle-sh/twinkle/backend/openai"
	"github.com/twinkle-sh/twinkle/params"
	"github.com/twinkle-sh/twinkle/ui/sanitize"
)

// Bounds of the extra modes.
const (
	repeatMin, repeatMax = 2, 8
	compareMin           = 2 // targets, the main one included
	compareMax           = 4
	maxConcurrency       = 64
	// maxInputFile bounds a --messages or --prompts file read into memory.
	maxInputFile = 64 << 20
)

// sampleExtra is `twinkle sample`'s flags beyond one prompt, and what they parse to.
type sampleExtra struct {
	messages, prompts string
	sweeps, compare   []string
	ownSeeds          bool
	repeat            int
	concurrency       int

	cmd      *cobra.Command
	variants []params.SweepVariant
	targets  []compareTarget
}

// compareTarget is one --compare NAME=URL[,MODEL].
type compareTarget struct {
	name, endpoint, model string
}

// registerSampleExtra adds the flags to sample's command and its help.
func registerSampleExtra(cmd *cobra.Command) *sampleExtra {
	x := &sampleExtra{cmd: cmd}
	cmd.Use = "sample [flags] (PROMPT | --messages FILE | --prompts FILE)"
	cmd.Long += "\n\n" +
		"--messages FILE sends a conversation (a twinkle Trajectory {\"messages\": [...]} or a list of messages).\n" +
		"--sweep NAME=V1,V2,... (or NAME=START..END:STEP) runs one variant per value, 2 to 8, all with one seed\n" +
		"unless --own-seeds; two --sweep flags make a grid of up to 4x4. --compare NAME=URL[,MODEL] sends the same\n" +
		"request to another endpoint as well (2 to 4 targets with the main one; its key from $TWINKLE_API_KEY_NAME).\n" +
		"--prompts FILE samples every line of a JSONL file (a prompt string or a message list) and prints one\n" +
		"JSON line per input line. --repeat K re-runs the request K times with one seed and reports determinism.\n" +
		"Each response carries per-sample stats (mean logprob, perplexity, top-K entropy estimate) with --logprobs."
	f := cmd.Flags()
	f.StringVar(&x.messages, "messages", "", "send the conversation in FILE (- reads stdin): {\"messages\": [...]} or a list of messages")
	f.StringVar(&x.prompts, "prompts", "", "sample every prompt of a JSONL FILE (a prompt string or a message list per line); prints JSONL")
	f.IntVar(&x.concurrency, "concurrency", 4, fmt.Sprintf("with --prompts, prompts sampled at once (1 to %d)", maxConcurrency))
	f.StringArrayVar(&x.sweeps, "sweep", nil, "one variant per value: NAME=V1,V2,... or NAME=START..END:STEP (2 to 8 values); twice for a grid (up to 4x4)")
	f.BoolVar(&x.ownSeeds, "own-seeds", false, "with --sweep, give each variant its own seed instead of sharing one")
	f.StringArrayVar(&x.compare, "compare", nil, "also send the request to NAME=URL[,MODEL] (repeatable; API key from $TWINKLE_API_KEY_NAME); URL local is the built-in model")
	f.IntVar(&x.repeat, "repeat", 0, fmt.Sprintf("run the request K times (%d to %d) with one seed and report whether the samples are identical", repeatMin, repeatMax))
	return x
}

// active reports whether any of the extra modes was asked for.
func (x *sampleExtra) active() bool {
	return x.messages != "" || x.prompts != "" || len(x.sweeps) > 0 || len(x.compare) > 0 || x.cmd.Flags().Changed("repeat")
}

// checkArgs is sample's argument rule: one PROMPT, unless a file holds the input.
func (x *sampleExtra) checkArgs(_ *cobra.Command, args []string) error {
	switch {
	case x.messages != "" && len(args) > 0:
		return fmt.Errorf("--messages holds the conversation, so sample takes no PROMPT argument, got %d", len(args))
	case x.prompts != "" && len(args) > 0:
		return fmt.Errorf("--prompts holds the prompts, so sample takes no PROMPT argument, got %d", len(args))
	case x.messages == "" && x.prompts == "" && len(args) != 1:
		return fmt.Errorf("sample takes one PROMPT argument (- reads it from stdin), or --messages FILE or --prompts FILE, got %d", len(args))
	}
	return nil
}

// problems checks the extra flags, alone and together, and parses sweeps and targets.
// Every problem is reported at once.
func (x *sampleExtra) problems(p params.SamplingParams, o params.Options, system string, stream bool) []string {
	var out []string
	fs := x.cmd.Flags()
	var modes []string
	for _, m := range []struct {
		name string
		on   bool
	}{{"--sweep", len(x.sweeps) > 0}, {"--compare", len(x.compare) > 0}, {"--prompts", x.prompts != ""}, {"--repeat", fs.Changed("repeat")}} {
		if m.on {
			modes = append(modes, m.name)
		}
	}
	if len(modes) > 1 {
		out = append(out, strings.Join(modes, ", ")+": choose one; they cannot be combined")
	}
	if stream && len(modes) > 0 {
		out = append(out, "--stream prints the events of one run; it cannot be combined with "+strings.Join(modes, ", "))
	}
	if x.messages != "" && x.prompts != "" {
		out = append(out, "--messages and --prompts: choose one input")
	}
	if x.messages != "" && system != "" {
		out = append(out, "--system: the conversation in --messages holds the system message")
	}
	if fs.Changed("repeat") && (x.repeat < repeatMin || x.repeat > repeatMax) {
		out = append(out, fmt.Sprintf("--repeat: must be in [%d, %d], got %d", repeatMin, repeatMax, x.repeat))
	}
	if fs.Changed("concurrency") && x.prompts == "" {
		out = append(out, "--concurrency: only with --prompts")
	}
	if x.concurrency < 1 || x.concurrency > maxConcurrency {
		out = append(out, fmt.Sprintf("--concurrency: must be in [1, %d], got %d", maxConcurrency, x.concurrency))
	}
	if x.ownSeeds && len(x.sweeps) == 0 {
		out = append(out, "--own-seeds: only with --sweep")
	}
	out = append(out, x.parseSweeps(p, o)...)
	out = append(out, x.parseTargets()...)
	return out
}

func (x *sampleExtra) parseSweeps(p params.SamplingParams, o params.Options) []string {
	if len(x.sweeps) == 0 {
		return nil
	}
	var out []string
	var axes []params.SweepAxis
	for _, s := range x.sweeps {
		a, err := params.ParseSweep(s)
		if err != nil {
			out = append(out, "--sweep "+err.Error())
			continue
		}
		if a.Spec.Key == "seed" && x.ownSeeds {
			out = append(out, "--own-seeds: the sweep sets the seeds itself")
		}
		axes = append(axes, a)
	}
	if len(x.sweeps) > 2 {
		out = append(out, fmt.Sprintf("--sweep: one or two parameters, got %d", len(x.sweeps)))
	}
	if len(out) > 0 {
		return out
	}
	vs, err := params.SweepVariants(p, o, axes)
	var se *params.SweepError
	if errors.As(err, &se) {
		for _, msg := range se.Problems {
			out = append(out, "--sweep: "+msg)
		}
		return out
	}
	x.variants = vs
	return nil
}

// targetName is what a --compare name may hold: it becomes part of an environment
// variable's name.
var targetName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

func (x *sampleExtra) parseTargets() []string {
	if len(x.compare) == 0 {
		return nil
	}
	var out []string
	seen := map[string]bool{keyVar("main"): true} // by key variable: a-b and a_b would share one
	for _, c := range x.compare {
		name, rest, ok := strings.Cut(c, "=")
		endpoint, model, _ := strings.Cut(rest, ",")
		endpoint, model = strings.TrimSpace(endpoint), strings.TrimSpace(model)
		bad := func(format string, a ...any) {
			out = append(out, fmt.Sprintf("--compare %q: ", redactURL(c))+fmt.Sprintf(format, a...))
		}
		switch {
		case !ok || endpoint == "":
			bad("expected NAME=URL or NAME=URL,MODEL, such as fp8=http://gpu2:8000/v1,Qwen/Qwen2.5-7B-Instruct-FP8")
			continue
		case !targetName.MatchString(name):
			bad("the name must be 1 to 32 letters, digits, - or _ (it names $%s)", keyVar("NAME"))
			continue
		case seen[keyVar(name)]:
			if strings.EqualFold(name, "main") {
				bad("main names the --endpoint target; choose another name")
			} else {
				bad("%s is named twice", name)
			}
			continue
		}
		seen[keyVar(name)] = true
		if endpoint != localEndpoint {
			if u, err := url.Parse(endpoint); err == nil && u.User != nil {
				bad("the URL must not carry credentials; put the key in $%s", keyVar(name))
				continue
			}
			if _, err := openai.New(openai.Config{BaseURL: endpoint}); err != nil {
				bad("%v", err)
				continue
			}
		} else if model != "" && model != local.DefaultModelName {
			bad("the built-in model is %q, not %q", local.DefaultModelName, model)
			continue
		}
		x.targets = append(x.targets, compareTarget{name: name, endpoint: endpoint, model: model})
	}
	if n := len(x.compare) + 1; n < compareMin || n > compareMax {
		out = append(out, fmt.Sprintf("--compare: %d to %d targets with the main one, got %d", compareMin, compareMax, n))
	}
	return out
}

// keyVar is the environment variable holding a compare target's API key.
func keyVar(name string) string {
	return "TWINKLE_API_KEY_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// redactURL drops a password from any URL in s, so a flag echoed back never shows one.
func redactURL(s string) string {
	return userinfo.ReplaceAllString(s, "://")
}

var userinfo = regexp.MustCompile(`://[^/@\s,]*@`)

// shownEndpoint is an endpoint as output may show it: without user or password.
func shownEndpoint(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil || u.User == nil {
		return redactURL(endpoint)
	}
	u.User = nil
	return u.String()
}

// run carries out the extra modes once the flags are known to be good.
func (x *sampleExtra) run(cmd *cobra.Command, e env, conn connFlags, api params.API, p params.SamplingParams, o params.Options, system string, stream bool, args []string) error {
	ctx, stdout := cmd.Context(), cmd.OutOrStdout()
	stderr := &onceWriter{w: cmd.ErrOrStderr()}
	var conv *convo.Conversation
	var prompt string
	var batch []convo.Line
	switch {
	case x.messages != "":
		name, data, err := readInput("--messages", x.messages, cmd.InOrStdin())
		if err != nil {
			return err
		}
		c, err := convo.Read(name, data)
		if err != nil {
			return &usageError{err}
		}
		for _, note := range c.CustomRoles() {
			fmt.Fprintln(stderr, "twinkle: note: "+sanitize.Line(note))
		}
		conv = &c
	case x.prompts != "":
		name, data, err := readInput("--prompts", x.prompts, cmd.InOrStdin())
		if err != nil {
			return err
		}
		if batch = convo.ReadBatch(name, data); len(batch) == 0 {
			return &usageError{fmt.Errorf("%s: no prompts (one JSON string or message list a line)", name)}
		}
	case args[0] == "-":
		b, err := io.ReadAll(cmd.InOrStdin())
		if err != nil {
			return fmt.Errorf("reading the prompt from stdin: %w", err)
		}
		prompt = strings.TrimSuffix(string(b), "\n")
	default:
		prompt = args[0]
	}
	// One seed for every run that is compared, so the differences come from what was
	// changed and not from the draw.
	if p.Seed == nil && (len(x.sweeps) > 0 || len(x.targets) > 0 || x.repeat > 0) {
		seed := rand.Int64N(math.MaxInt32 - params.MaxSamples*params.MaxSamples)
		p.Seed = &seed
		for i := range x.variants {
			if _, swept := x.variants[i].Values.Get("seed"); !swept {
				s := seed
				x.variants[i].Params.Seed = &s
			}
		}
	}
	if x.ownSeeds {
		if err := x.spreadSeeds(o); err != nil {
			return err
		}
	}
	b, err := conn.open(ctx, e)
	if err != nil {
		return err
	}
	if b.fallback != "" {
		fmt.Fprintln(stderr, "twinkle: "+b.fallback)
	}
	if len(x.targets) == 0 {
		// The compared targets' tokenizers may differ: there, text stays refused.
		if o, err = resolveLogitBiasText(ctx, b, o); err != nil {
			return err
		}
		for i := range x.variants {
			x.variants[i].Options.Advanced.LogitBias = slices.Clone(o.Advanced.LogitBias) // other fields may be swept
		}
	}
	auto := api == "" && conv == nil
	for _, t := range x.targets {
		if api == "" && t.endpoint == localEndpoint {
			// Every target gets the same body, and the built-in model takes completions.
			api, auto = params.Completion, false
		}
	}
	api = modeFor(api, b.local)
	if conv != nil && api == params.Completion {
		why := "--mode completion"
		if b.local {
			why = "the built-in model has no chat template and takes completion requests only"
		}
		return &usageError{fmt.Errorf("--messages sends a conversation, which needs chat mode: %s", why)}
	}
	base := backend.Request{API: api, Model: b.model, Prompt: prompt, Params: p, Options: o}
	switch {
	case conv != nil:
		base.Messages = conv.Messages
	case api == params.Chat:
		if system != "" {
			base.Messages = append(base.Messages, backend.Message{Role: "system", Content: system})
		}
		base.Messages = append(base.Messages, backend.Message{Role: "user", Content: prompt})
	}
	newSampler := func(s backend.Sampler, autoMode bool) *cliSampler {
		return &cliSampler{Sampler: s, auto: autoMode, local: b.local, stderr: stderr}
	}
	switch {
	case batch != nil:
		return x.runBatch(ctx, stdout, stderr, b.sampler, base, system, batch, auto)
	case len(x.variants) > 0:
		return x.runSweep(ctx, stdout, stderr, newSampler(b.sampler, auto), base)
	case len(x.targets) > 0:
		return x.runCompare(ctx, e, conn, stdout, stderr, b, base, auto)
	case x.repeat > 0:
		return x.runRepeat(ctx, stdout, stderr, b.sampler, base, auto)
	}
	s := newSampler(b.sampler, auto)
	_, err = runSampleWithStats(ctx, s, base, stream, stdout)
	printWarnings(stderr, s)
	return err
}

// spreadSeeds gives variant v the seeds after variant v-1's, so no two samples of the
// sweep share one (sample i of a request is drawn with seed+i).
func (x *sampleExtra) spreadSeeds(o params.Options) error {
	n := int64(o.Samples())
	for v := range x.variants {
		s := *x.variants[v].Params.Seed + int64(v)*n
		if s > math.MaxInt32 {
			return &params.FlagError{Problems: []string{fmt.Sprintf("--own-seeds: variant %d would need seed %d, above %d; choose a lower --seed", v, s, math.MaxInt32)}}
		}
		x.variants[v].Params.Seed = &s
	}
	return nil
}

func printWarnings(w io.Writer, s *cliSampler) {
	for _, warn := range s.warnings {
		fmt.Fprintln(w, "twinkle: warning: "+sanitize.Line(warn.Error()))
	}
}

// readInput reads a --messages or --prompts file, or stdin for "-".
func readInput(flag, path string, stdin io.Reader) (name string, data []byte, err error) {
	var r io.Reader = stdin
	name = "stdin"
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return path, nil, &usageError{fmt.Errorf("%s: %w", flag, err)}
		}
		defer f.Close()
		r, name = f, path
	}
	data, err = io.ReadAll(io.LimitReader(r, maxInputFile+1))
	switch {
	case err != nil:
		return name, nil, &usageError{fmt.Errorf("%s: %w", name, err)}
	case len(data) > maxInputFile:
		return name, nil, &usageError{fmt.Errorf("%s: larger than %d MiB", name, maxInputFile>>20)}
	}
	return name, data, nil
}

// runSweep runs every variant at once and prints one response per variant as a JSON
// list, each with its swept values. Variants that differ only in SamplingParams go as one
// run (backend.Request.Variants); a sweep of a field kept in Options runs one request per
// variant, concurrently.
func (x *sampleExtra) runSweep(ctx context.Context, stdout, stderr io.Writer, s *cliSampler, base backend.Request) error {
	shared := true
	for _, v := range x.variants {
		shared = shared && reflect.DeepEqual(v.Options, base.Options)
	}
	var results []backend.Result
	var runErr error
	if shared {
		req := base
		for _, v := range x.variants {
			req.Variants = append(req.Variants, v.Params)
		}
		results, runErr = backend.Collect(ctx, s, req, time.Now)
		printWarnings(stderr, s)
		if results == nil {
			return runErr
		}
	} else {
		results = make([]backend.Result, len(x.variants))
		errs := make([]error, len(x.variants))
		var wg sync.WaitGroup
		for i, v := range x.variants {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req := base
				req.Params, req.Options = v.Params, v.Options
				one := &cliSampler{Sampler: s.Sampler, auto: s.auto, local: s.local, stderr: s.stderr}
				rs, err := backend.Collect(ctx, one, req, time.Now)
				if len(rs) == 1 {
					results[i] = rs[0]
				}
				errs[i] = err
				printWarnings(stderr, one)
			}()
		}
		wg.Wait()
		runErr = errors.Join(errs...)
	}
	var items []json.RawMessage
	var failed []string
	for i, r := range results {
		item, err := withFields(nil, r.Response, params.Fields{{Key: "sweep", Value: x.variants[i].Values}, {Key: "stats", Value: backend.ResponseStats(r.Response)}})
		if err != nil {
			return err
		}
		items = append(items, item)
		if err := backend.Failures(r.Response); err != nil {
			failed = append(failed, fmt.Sprintf("variant %s: %v", label(x.variants[i].Values), err))
		}
	}
	if err := writeJSON(stdout, items); err != nil {
		return err
	}
	if runErr != nil {
		return runErr
	}
	return joinFailures(failed)
}

// label writes a variant's values as name=value pairs.
func label(values params.Fields) string {
	var parts []string
	for _, f := range values {
		b, _ := json.Marshal(f.Value)
		parts = append(parts, f.Key+"="+string(b))
	}
	return strings.Join(parts, " ")
}

func joinFailures(lines []string) error {
	if len(lines) == 0 {
		return nil
	}
	return errors.New(strings.Join(lines, "\n"))
}

// runCompare sends the same request to the main target and every --compare target at
// once, and prints one response per target as a JSON list, each with its target and
// per-sample timing. A target that fails does not stop the others.
func (x *sampleExtra) runCompare(ctx context.Context, e env, conn connFlags, stdout, stderr io.Writer, main chosenBackend, base backend.Request, auto bool) error {
	type outcome struct {
		target compareTarget
		result *backend.Result
		err    error
	}
	targets := append([]compareTarget{{name: "main", endpoint: main.endpoint, model: main.model}}, x.targets...)
	outs := make([]outcome, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		outs[i].target = t
		wg.Add(1)
		go func() {
			defer wg.Done()
			sampler, model, err := main.sampler, main.model, error(nil)
			if i > 0 {
				sampler, model, err = openTarget(ctx, e, conn, t)
			}
			if err != nil {
				outs[i].err = err
				return
			}
			req := base
			req.Model = model
			s := &cliSampler{Sampler: sampler, auto: auto, stderr: stderr}
			rs, err := backend.Collect(ctx, s, req, time.Now)
			printWarnings(stderr, s)
			if len(rs) == 1 {
				outs[i].result = &rs[0]
			}
			outs[i].err = err
			if err == nil {
				outs[i].err = backend.Failures(rs[0].Response)
			}
		}()
	}
	wg.Wait()
	var items []json.RawMessage
	var failed []string
	for _, o := range outs {
		model := o.target.model
		if model == "" && o.result != nil {
			model = o.result.Response.Model // the server's first model, as listed
		}
		target := params.Fields{{Key: "name", Value: o.target.name}, {Key: "endpoint", Value: shownEndpoint(o.target.endpoint)}, {Key: "model", Value: model}}
		var resp any
		var tail params.Fields
		if o.result != nil {
			resp = o.result.Response
			tail = params.Fields{{Key: "stats", Value: backend.ResponseStats(o.result.Response)}, {Key: "timing", Value: o.result.Timings}}
		}
		if o.err != nil {
			tail = append(tail, params.Field{Key: "error", Value: o.err.Error()})
			failed = append(failed, "target "+o.target.name+": "+o.err.Error())
		}
		item, err := withFields(params.Fields{{Key: "target", Value: target}}, resp, tail)
		if err != nil {
			return err
		}
		items = append(items, item)
	}
	if err := writeJSON(stdout, items); err != nil {
		return err
	}
	return joinFailures(failed)
}

// openTarget opens a --compare target. Its API key comes from $TWINKLE_API_KEY_<NAME>
// only: the main key is never sent to another endpoint.
func openTarget(ctx context.Context, e env, conn connFlags, t compareTarget) (backend.Sampler, string, error) {
	if t.endpoint == localEndpoint {
		c := conn
		c.endpoint, c.model, c.apiKey = localEndpoint, t.model, ""
		b, err := c.open(ctx, e)
		if err != nil {
			return nil, "", err
		}
		return b.sampler, b.model, nil
	}
	cl, err := openai.New(openai.Config{
		BaseURL: t.endpoint, Model: t.model, APIKey: os.Getenv(keyVar(t.name)),
		ConnectTimeout: conn.connectTimeout, FirstTokenTimeout: conn.firstTokenTimeout, IdleTimeout: conn.idleTime,
	})
	if err != nil {
		return nil, "", err
	}
	return cl, t.model, nil
}

// runRepeat runs the request K times in a row with the same seed, and prints the first
// run's response with a determinism field comparing them all.
func (x *sampleExtra) runRepeat(ctx context.Context, stdout, stderr io.Writer, sampler backend.Sampler, base backend.Request, auto bool) error {
	rec := &apiRecorder{Sampler: sampler}
	var runs []backend.SampleResponse
	var failed []string
	for k := range x.repeat {
		s := &cliSampler{Sampler: rec, auto: auto, stderr: stderr}
		rs, err := backend.Collect(ctx, s, base, time.Now)
		printWarnings(stderr, s)
		if rs == nil {
			return err
		}
		if err == nil {
			err = backend.Failures(rs[0].Response)
		}
		if err != nil {
			failed = append(failed, fmt.Sprintf("run %d: %v", k, err))
		}
		runs = append(runs, rs[0].Response)
		if ctx.Err() != nil {
			break // interrupted: what ran is still printed
		}
		if k == 0 && auto && rec.api() == params.Completion {
			// The first run found no chat template: the others go straight to completion.
			base.API, base.Messages, auto = params.Completion, nil, false
		}
	}
	item, err := withFields(nil, runs[0], params.Fields{{Key: "stats", Value: backend.ResponseStats(runs[0])}, {Key: "determinism", Value: backend.CheckDeterminism(runs)}})
	if err != nil {
		return err
	}
	if err := writeJSONLine(stdout, item); err != nil {
		return err
	}
	return joinFailures(failed)
}

// apiRecorder notes the mode of the last request sent, so a repeat learns whether the
// automatic mode fell back to completion.
type apiRecorder struct {
	backend.Sampler
	mu   sync.Mutex
	last params.API
}

func (a *apiRecorder) Start(ctx context.Context, req backend.Request) (<-chan backend.Event, error) {
	a.mu.Lock()
	a.last = req.API
	a.mu.Unlock()
	return a.Sampler.Start(ctx, req)
}

func (a *apiRecorder) api() params.API {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.last
}

// runBatch samples every line of a --prompts file, at most --concurrency at once, and
// prints one JSON line per input line in file order as soon as it and those before it
// are done. A bad line is reported on its own line and the others are sampled.
func (x *sampleExtra) runBatch(ctx context.Context, stdout, stderr io.Writer, sampler backend.Sampler, base backend.Request, system string, lines []convo.Line, auto bool) error {
	outs := make([]chan lineOutcome, len(lines))
	for i := range outs {
		outs[i] = make(chan lineOutcome, 1)
	}
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(x.concurrency, len(lines)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				outs[i] <- sampleLine(ctx, stderr, sampler, base, system, lines[i], auto)
			}
		}()
	}
	go func() {
		defer close(jobs)
		for i := range lines {
			jobs <- i
		}
	}()
	var failed []string
	var werr error
	for _, ch := range outs {
		o := <-ch
		if werr == nil {
			werr = writeJSONLine(stdout, o.item)
		}
		if o.fail != "" {
			failed = append(failed, o.fail)
		}
	}
	wg.Wait()
	if werr != nil {
		return fmt.Errorf("writing the output: %w", werr)
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d lines failed:\n%s", len(failed), len(lines), strings.Join(failed, "\n"))
	}
	return nil
}

// lineOutcome is one batch line's output line, and what failed, if anything.
type lineOutcome struct {
	item json.RawMessage
	fail string
}

// sampleLine samples one batch line: a prompt string as the main prompt would be sent
// (with --system in chat mode), a conversation as it is (chat mode only).
func sampleLine(ctx context.Context, stderr io.Writer, sampler backend.Sampler, base backend.Request, system string, l convo.Line, auto bool) lineOutcome {
	fail := func(err error) lineOutcome {
		item, _ := withFields(params.Fields{{Key: "line", Value: l.N}, {Key: "error", Value: err.Error()}}, nil, nil)
		var pe *convo.ParseError
		if errors.As(err, &pe) {
			return lineOutcome{item: item, fail: err.Error()} // it names the file and line itself
		}
		return lineOutcome{item: item, fail: fmt.Sprintf("line %d: %v", l.N, err)}
	}
	if l.Err != nil {
		return fail(l.Err)
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	req := base
	switch {
	case l.Conversation != nil && base.API == params.Completion:
		return fail(errors.New("a message list needs chat mode (--mode chat and a server with a chat template)"))
	case l.Conversation != nil:
		req.Messages, req.Prompt, auto = l.Conversation.Messages, "", false
	case base.API == params.Chat:
		req.Prompt, req.Messages = l.Prompt, nil
		if system != "" {
			req.Messages = append(req.Messages, backend.Message{Role: "system", Content: system})
		}
		req.Messages = append(req.Messages, backend.Message{Role: "user", Content: l.Prompt})
	default:
		req.Prompt = l.Prompt
	}
	s := &cliSampler{Sampler: sampler, auto: auto, stderr: stderr}
	rs, err := backend.Collect(ctx, s, req, time.Now)
	printWarnings(stderr, s)
	if rs == nil {
		return fail(err)
	}
	if err == nil {
		err = backend.Failures(rs[0].Response)
	}
	tail := params.Fields{{Key: "stats", Value: backend.ResponseStats(rs[0].Response)}}
	var o lineOutcome
	if err != nil {
		tail = append(tail, params.Field{Key: "error", Value: err.Error()})
		o.fail = fmt.Sprintf("line %d: %v", l.N, err)
	}
	if o.item, err = withFields(params.Fields{{Key: "line", Value: l.N}}, rs[0].Response, tail); err != nil {
		return fail(err)
	}
	return o
}

// runSampleWithStats is `twinkle sample` for one run: backend.RunSample, with each
// sample's statistics added to the printed response.
func runSampleWithStats(ctx context.Context, s backend.Sampler, req backend.Request, stream bool, out io.Writer) (backend.SampleResponse, error) {
	if stream {
		return backend.RunSample(ctx, s, req, true, out)
	}
	var buf bytes.Buffer
	resp, err := backend.RunSample(ctx, s, req, false, &buf)
	if buf.Len() == 0 {
		return resp, err
	}
	line := bytes.TrimRight(buf.Bytes(), "\n")
	if stats := backend.ResponseStats(resp); stats != nil && bytes.HasSuffix(line, []byte("}")) {
		extra, merr := marshal(params.Fields{{Key: "stats", Value: stats}})
		if merr == nil {
			line = append(append(line[:len(line)-1:len(line)-1], ','), extra[1:]...)
		}
	}
	if werr := writeRawLine(out, line); werr != nil && err == nil {
		err = fmt.Errorf("writing the output: %w", werr)
	}
	return resp, err
}

// withFields writes v's JSON object with head's fields before its own and tail's after,
// so the response keeps its own JSON (whatever its MarshalJSON adds) and the additions
// read first or last. A nil v gives the head and tail alone.
func withFields(head params.Fields, v any, tail params.Fields) (json.RawMessage, error) {
	var parts [][]byte
	add := func(obj []byte) {
		inner := bytes.TrimSpace(obj)
		inner = bytes.TrimSpace(inner[1 : len(inner)-1])
		if len(inner) > 0 {
			parts = append(parts, inner)
		}
	}
	for _, x := range []any{head, v, tail} {
		if x == nil {
			continue
		}
		if f, ok := x.(params.Fields); ok && len(f) == 0 {
			continue
		}
		b, err := marshal(x)
		if err != nil {
			return nil, err
		}
		if len(b) < 2 || b[0] != '{' {
			return nil, fmt.Errorf("internal: %T is not a JSON object", x)
		}
		add(b)
	}
	return json.RawMessage("{" + string(bytes.Join(parts, []byte(","))) + "}"), nil
}

// writeJSON writes v as one line of terminal-safe JSON.
func writeJSON(w io.Writer, v any) error {
	b, err := marshal(v)
	if err != nil {
		return err
	}
	return writeRawLine(w, b)
}

// marshal is json.Marshal without HTML escaping, as backend.RunSample writes: model text
// keeps its < and & readable.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// writeJSONLine writes one JSON value as a line.
func writeJSONLine(w io.Writer, item json.RawMessage) error { return writeRawLine(w, item) }

// writeRawLine writes JSON text as a line, with C1 controls and bidi overrides escaped
// (backend.EscapeUnsafeJSON): printing it cannot drive a terminal.
func writeRawLine(w io.Writer, b []byte) error {
	_, err := w.Write(append(backend.EscapeUnsafeJSON(b), '\n'))
	return err
}

// onceWriter passes each distinct line through once, so a note that several concurrent
// runs would each print (the switch to completion mode) is said once. Safe for
// concurrent use.
type onceWriter struct {
	mu   sync.Mutex
	w    io.Writer
	seen []string
}

func (o *onceWriter) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if slices.Contains(o.seen, string(p)) {
		return len(p), nil
	}
	o.seen = append(o.seen, string(p))
	return o.w.Write(p)
}
