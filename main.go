// Command twinkle is a terminal playground for LLM sampling: a slider for every
// SamplingParams field, several samples streamed side by side from a vLLM
// OpenAI-compatible server (or the built-in model), per-token logprobs and stop reasons.
//
// main.go only wires flags, the config file and the choice of backend to the packages
// that do the work: params/, backend/, ui/, themes/.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/fang/v2"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/backend/convo"
	"github.com/twinkle-sh/twinkle/backend/local"
	"github.com/twinkle-sh/twinkle/backend/localserver"
	"github.com/twinkle-sh/twinkle/backend/openai"
	"github.com/twinkle-sh/twinkle/backend/vllmtest"
	"github.com/twinkle-sh/twinkle/params"
	"github.com/twinkle-sh/twinkle/store"
	"github.com/twinkle-sh/twinkle/themes"
	"github.com/twinkle-sh/twinkle/ui"
	"github.com/twinkle-sh/twinkle/ui/heatmap"
	"github.com/twinkle-sh/twinkle/ui/sanitize"
)

// vllmDefault is where `vllm serve` listens unless told otherwise; twinkle looks there
// briefly when no endpoint is configured.
const vllmDefault = "http://localhost:8000/v1"

// localEndpoint is the --endpoint value that forces the built-in model.
const localEndpoint = "local"

func main() {
	// SIGINT cancels the command's context, so a run stops cleanly (the server sees the
	// disconnect) and what arrived is still printed; the exit status then says so.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	context.AfterFunc(ctx, stop) // a second interrupt is not caught: it ends a stuck exit
	root := newRoot(env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, probeURL: vllmDefault, probeTimeout: 400 * time.Millisecond})
	err := fang.Execute(ctx, root,
		fang.WithVersion(version()),
		fang.WithErrorHandler(func(w io.Writer, st fang.Styles, err error) {
			if ctx.Err() != nil {
				fmt.Fprintln(w, "twinkle: interrupted")
				return
			}
			errorHandler(w, st, err)
		}),
	)
	code := exitStatus(ctx, err)
	stop()
	os.Exit(code)
}

func version() string { return "0.1.0-dev" }

// env is what the commands take from the process, so tests can give their own.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	// probeURL is where an unconfigured twinkle looks for a vLLM server before it
	// falls back to the built-in model.
	probeURL     string
	probeTimeout time.Duration
	// runTUI starts the playground; tests replace it.
	runTUI func(ctx context.Context, cfg ui.Config) error
}

// exitStatus is the process's exit status: 130 (128 + SIGINT, as shells report it) when
// an interrupt ended the command, else exitCode's.
func exitStatus(ctx context.Context, err error) int {
	switch {
	case ctx.Err() != nil:
		return 130
	case err == nil:
		return 0
	}
	return exitCode(err)
}

// exitCode is what a command's error means for the shell: 2 for bad input (flags,
// arguments, files), 1 for everything else.
func exitCode(err error) int {
	var fe *params.FlagError
	var ue *usageError
	if errors.As(err, &fe) || errors.As(err, &ue) {
		return 2
	}
	return 1
}

// usageError marks an error in how the command was called.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// usageArgs makes a wrong number of arguments a usage error (exit status 2).
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return &usageError{err}
		}
		return nil
	}
}

// errorHandler prints errors plainly, one problem a line. Error text can quote a server
// or a model, so it is made terminal-safe first.
func errorHandler(w io.Writer, _ fang.Styles, err error) {
	msg := strings.TrimRight(sanitize.Text(err.Error()), "\n")
	fmt.Fprintln(w, "twinkle: "+strings.ReplaceAll(msg, "\n", "\ntwinkle: "))
	if exitCode(err) == 2 {
		fmt.Fprintln(w, "Try --help for usage.")
	}
}

// modeHelp states the one rule every command follows when --mode is not given.
const modeHelp = "chat or completion (default: completion for the built-in model, chat otherwise)"

// modeFor applies that rule: the mode chosen, else completion for the built-in model
// (a model of Go code with no chat template), else chat.
func modeFor(api params.API, builtIn bool) params.API {
	switch {
	case api != "":
		return api
	case builtIn:
		return params.Completion
	}
	return params.Chat
}

// rootFlags are the playground's flags beyond the parameter flags.
type rootFlags struct {
	conn                                                connFlags
	mode, system, prompt, theme, heatmap, load, cfgPath string
	messages                                            string
	scroll                                              string
	params                                              *params.Flags
	// themeFrom names where the theme came from, for messages: the flag or a config line.
	themeFrom string
	// compare: the --compare targets, run side by side with the main one.
	compare []string
	targets []compareTarget
}

func newRoot(e env) *cobra.Command {
	if e.runTUI == nil {
		e.runTUI = runTUI
	}
	root := &cobra.Command{
		Use:   "twinkle [flags]",
		Short: "A terminal playground for LLM sampling",
		Long: "twinkle tunes sampling parameters with a slider for each, streams several samples side by side\n" +
			"from a vLLM OpenAI-compatible server or its built-in model, and colours every token by its probability.\n\n" +
			"With no --endpoint and no $OPENAI_BASE_URL it looks for vLLM at " + vllmDefault + " and otherwise\n" +
			"uses the built-in model (a small Go-code model, no server needed); --endpoint local forces the latter.",
		Args:          usageArgs(cobra.NoArgs),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(e.stdin)
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })

	f := &rootFlags{themeFrom: "--theme"}
	fs := root.Flags()
	f.conn.register(fs)
	f.conn.registerMode(fs)
	fs.StringVar(&f.mode, "mode", "", modeHelp+"; the config file's mode comes before the default")
	fs.StringVar(&f.system, "system", "", "system message (chat mode)")
	fs.StringVar(&f.prompt, "prompt", "", "start with this prompt in the editor")
	fs.StringVar(&f.theme, "theme", "", "theme: "+strings.Join(themes.BuiltinNames(), ", ")+", or a user theme in the config folder's themes/")
	fs.StringVar(&f.heatmap, "heatmap", "", "starting heatmap mode: probability, surprisal, rank, entropy or off")
	fs.StringVar(&f.messages, "messages", "", "start with the conversation in FILE (chat mode): {\"messages\": [...]} or a list of messages")
	fs.StringVar(&f.scroll, "scroll", "", "how a column following its stream scrolls: jump (by most of its height, the fewest bytes; the default) or smooth (line by line); config.toml: scroll")
	fs.StringVar(&f.load, "load", "", "open a saved session file exactly as it was saved (no server needed)")
	fs.StringVar(&f.cfgPath, "config", "", "config file (default $XDG_CONFIG_HOME/twinkle/config.toml)")
	f.params = params.RegisterFlags(fs, true)
	registerCompare(fs, &f.compare)
	root.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := f.playground(cmd, e)
		if err != nil {
			return err
		}
		return e.runTUI(cmd.Context(), cfg)
	}
	root.AddCommand(newExportCmd(), newSampleCmd(e), newModelsCmd(e), newServeModelCmd(), newTestServerCmd())
	root.AddCommand(newServeCmd(e))
	return root
}

// playground builds the playground's configuration in steps: the config file, the
// flags over the playground's defaults, the theme, the session, then the backend.
// Every problem with the flags and the file is reported at once.
func (f *rootFlags) playground(cmd *cobra.Command, e env) (ui.Config, error) {
	fs := cmd.Flags()
	// The config folder is found once, here; the playground gets the store.
	st := store.Open("")
	if err := f.applyConfigFile(fs, st); err != nil {
		return ui.Config{}, err
	}
	api, p, o, problems := resolveFlags(f.params, f.mode)
	applyPlaygroundDefaults(fs, &p, &o)
	problems = append(problems, f.conn.problems()...)
	targets, cp := compareProblems(f.compare)
	f.targets, problems = targets, append(problems, cp...)
	cfg := ui.Config{API: api, Params: p, Options: o, System: f.system, Prompt: f.prompt, IsDark: true, Context: cmd.Context(), Store: st}
	problems = append(problems, f.chooseTheme(&cfg, st.ThemesDir(), e.stderr)...)
	if _, ok := heatmap.ParseMode(f.heatmap); f.heatmap != "" && !ok {
		problems = append(problems, fmt.Sprintf("--heatmap: %q is not one of probability, surprisal, rank, entropy, off", f.heatmap))
	}
	cfg.Heatmap = f.heatmap
	if f.scroll != "" && f.scroll != "jump" && f.scroll != "smooth" {
		problems = append(problems, fmt.Sprintf("--scroll: %q is not one of jump, smooth", f.scroll))
	}
	cfg.SmoothScroll = f.scroll == "smooth"
	if len(problems) > 0 {
		return ui.Config{}, &params.FlagError{Problems: problems}
	}
	if err := f.loadSession(&cfg); err != nil {
		return ui.Config{}, err
	}
	if err := f.loadMessages(cmd, &cfg); err != nil {
		return ui.Config{}, err
	}
	if err := f.chooseBackend(cmd.Context(), e, &cfg); err != nil {
		return ui.Config{}, err
	}
	return cfg, nil
}

// applyConfigFile reads the config file and fills what no flag set from it.
func (f *rootFlags) applyConfigFile(fs *pflag.FlagSet, st *store.Store) error {
	// The store knows the file; the values' rules live with what they set.
	c, err := st.LoadConfig(f.cfgPath, func(key, v string) error {
		switch key {
		case "heatmap":
			if _, ok := heatmap.ParseMode(v); !ok {
				return fmt.Errorf("%q is not one of probability, surprisal, rank, entropy, off", v)
			}
		case "logprobs_mode":
			_, err := backend.ParseLogprobsMode(v)
			return err
		case "scroll":
			if v != "jump" && v != "smooth" {
				return fmt.Errorf("%q is not one of jump, smooth", v)
			}
		}
		return nil
	})
	var fe *params.FlagError
	switch {
	case errors.As(err, &fe):
		return fe
	case err != nil:
		return &usageError{err}
	}
	set := func(flag string, dst *string, v string) bool {
		if v == "" || fs.Changed(flag) {
			return false
		}
		*dst = v
		return true
	}
	set("endpoint", &f.conn.endpoint, c.Endpoint)
	set("logprobs-mode", &f.conn.logprobsMode, c.LogprobsMode)
	set("model", &f.conn.model, c.Model)
	set("mode", &f.mode, c.Mode)
	set("heatmap", &f.heatmap, c.Heatmap)
	set("scroll", &f.scroll, c.Scroll)
	if set("theme", &f.theme, c.Theme) {
		f.themeFrom = fmt.Sprintf("%s:%d: theme", c.Path, c.Lines["theme"])
	}
	if c.IdleTimeout > 0 && !fs.Changed("idle-timeout") {
		f.conn.idleTime = c.IdleTimeout
	}
	return nil
}

// applyPlaygroundDefaults fills what the flags left unset with the playground's own
// defaults (params.PlaygroundDefaults) rather than the CLI's, which suit scripts.
func applyPlaygroundDefaults(fs *pflag.FlagSet, p *params.SamplingParams, o *params.Options) {
	dp, do := params.PlaygroundDefaults()
	if !fs.Changed("samples") && o.N <= 1 {
		o.N = do.N
	}
	if !fs.Changed("max-tokens") && p.MaxTokens == nil {
		p.MaxTokens = dp.MaxTokens
	}
	if !fs.Changed("logprobs") && o.Logprobs == nil {
		o.Logprobs = do.Logprobs
	}
}

// chooseTheme loads the theme asked for, if any. A broken theme file costs the user its
// colours, not the session: it is reported and the default theme is used.
func (f *rootFlags) chooseTheme(cfg *ui.Config, dir string, stderr io.Writer) (problems []string) {
	if f.theme == "" {
		return nil
	}
	var fileErr *themes.FileError
	pal, userFile, err := loadTheme(dir, f.theme)
	switch {
	case errors.As(err, &fileErr):
		fmt.Fprintln(stderr, "twinkle: "+sanitize.Text(err.Error())+"; using the default theme")
	case err != nil:
		return []string{f.themeFrom + ": " + err.Error()}
	case userFile:
		cfg.Palette = &pal
	default:
		cfg.Theme = f.theme // a built-in follows the terminal's light or dark background
	}
	return nil
}

// loadSession opens the --load file, if any.
func (f *rootFlags) loadSession(cfg *ui.Config) error {
	if f.load == "" {
		return nil
	}
	s, err := store.LoadSession[backend.SampleResponse](f.load)
	if err != nil {
		return &usageError{fmt.Errorf("--load: %w", err)}
	}
	cfg.Session, cfg.SessionPath = s, f.load
	return nil
}

// loadMessages opens the --messages conversation, if any, read as `twinkle sample` reads it.
func (f *rootFlags) loadMessages(cmd *cobra.Command, cfg *ui.Config) error {
	switch {
	case f.messages == "":
		return nil
	case f.messages == "-":
		return &usageError{errors.New("--messages: the playground reads the terminal, so give a file, not -")}
	case f.load != "" || f.system != "" || cfg.API == params.Completion:
		return &usageError{errors.New("--messages: not with --load, --system or completion mode (the conversation holds the system message)")}
	}
	name, data, err := readInput("--messages", f.messages, cmd.InOrStdin())
	if err != nil {
		return err
	}
	c, err := convo.Read(name, data)
	if err != nil {
		return &usageError{err}
	}
	cfg.Messages = c.Messages
	return nil
}

// chooseBackend picks where samples come from. A saved session opens without one; runs
// are off until a server is reachable. With no mode chosen, API stays empty (the
// playground's automatic mode) unless the built-in model makes it completion.
func (f *rootFlags) chooseBackend(ctx context.Context, e env, cfg *ui.Config) error {
	b, err := f.conn.open(ctx, e)
	if err != nil {
		if cfg.Session == nil {
			return err
		}
		note := sanitize.Line(err.Error()) + "; showing the session read-only"
		fmt.Fprintln(e.stderr, "twinkle: "+note)
		cfg.Notice = note // stderr is hidden once the playground starts
		return nil
	}
	cfg.Sampler, cfg.Endpoint, cfg.Model = b.sampler, b.endpoint, b.model
	cfg.Notice = b.fallback
	if b.local {
		cfg.API = modeFor(cfg.API, true)
	}
	return compareBackend(ctx, e, f.conn, cfg, b, f.targets)
}

// loadTheme finds a theme by name: a user file in the themes folder dir first (it may
// shadow a built-in), then the built-ins.
func loadTheme(dir, name string) (themes.Palette, bool, error) {
	userFile := false
	if dir != "" && !strings.ContainsAny(name, `/\`) {
		_, err := os.Stat(filepath.Join(dir, name+".toml"))
		userFile = err == nil
	}
	pal, err := themes.NewRegistry(dir).Load(name, true)
	return pal, userFile, err
}

func runTUI(ctx context.Context, cfg ui.Config) error {
	// The output is counted so that frames are paced to what the terminal takes.
	out := ui.NewOutputMeter(os.Stdout)
	cfg.Output = out
	_, err := tea.NewProgram(ui.New(cfg), tea.WithContext(ctx), tea.WithOutput(out),
		tea.WithColorProfile(themes.TerminalProfile(os.Stdout, os.Environ()))).Run()
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return nil // interrupted by a signal: a normal way to leave
	}
	return err
}

// connFlags choose the backend: a server's endpoint, or the built-in model.
type connFlags struct {
	endpoint, model, apiKey                     string
	connectTimeout, firstTokenTimeout, idleTime time.Duration
	// logprobsMode is the server's --logprobs-mode, which the API does not report.
	logprobsMode string
}

// logprobsModeHelp is --logprobs-mode's help on the commands that sample.
const logprobsModeHelp = "the --logprobs-mode the server runs with, which its API does not say: raw_logprobs (vLLM's default), raw_logits, processed_logprobs or processed_logits; the built-in model runs with it"

// registerMode adds --logprobs-mode, for the commands that sample.
func (c *connFlags) registerMode(fs *pflag.FlagSet) {
	fs.StringVar(&c.logprobsMode, "logprobs-mode", "", logprobsModeHelp+"; config.toml: logprobs_mode")
}

func (c *connFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&c.endpoint, "endpoint", "", "the OpenAI base URL, such as "+vllmDefault+" (default $OPENAI_BASE_URL), or \"local\" for the built-in model")
	fs.StringVar(&c.model, "model", "", "model name (default: the first one the server lists)")
	fs.StringVar(&c.apiKey, "api-key", "", "the API key (default $OPENAI_API_KEY); never printed, logged or saved")
	fs.DurationVar(&c.connectTimeout, "connect-timeout", 10*time.Second, "bound on connecting to the server")
	fs.DurationVar(&c.firstTokenTimeout, "first-token-timeout", 120*time.Second, "bound on the wait for the first token")
	fs.DurationVar(&c.idleTime, "idle-timeout", 60*time.Second, "bound on the wait between tokens (keep-alives do not count); config.toml: idle_timeout")
}

// problems checks the timeouts: each bounds a wait, so each must be positive (the
// client would read zero as its own default, and a negative one means nothing).
func (c connFlags) problems() []string {
	var out []string
	for _, t := range []struct {
		flag string
		d    time.Duration
	}{{"connect-timeout", c.connectTimeout}, {"first-token-timeout", c.firstTokenTimeout}, {"idle-timeout", c.idleTime}} {
		if t.d <= 0 {
			out = append(out, fmt.Sprintf("--%s: must be a positive duration such as 30s or 2m, got %s", t.flag, t.d))
		}
	}
	if _, err := backend.ParseLogprobsMode(c.logprobsMode); err != nil {
		out = append(out, "--logprobs-mode: "+err.Error())
	}
	return out
}

// chosenBackend is where samples come from.
type chosenBackend struct {
	sampler  backend.Sampler
	endpoint string // shown in the header; "local" for the built-in model
	model    string
	local    bool
	// fallback, when not empty, says that nothing answered at vLLM's default address and
	// the built-in model is used instead, in words for a person (stderr, a status line).
	fallback string
}

// open picks the backend: --endpoint, else $OPENAI_BASE_URL, else vLLM's default
// address if something answers there within the probe timeout, else the built-in model.
func (c connFlags) open(ctx context.Context, e env) (chosenBackend, error) {
	endpoint := c.endpoint
	if endpoint == "" {
		endpoint = os.Getenv("OPENAI_BASE_URL")
	}
	fallback := ""
	if endpoint == "" {
		if e.probeURL != "" && probe(ctx, e.probeURL, e.probeTimeout) {
			endpoint = e.probeURL
		} else {
			endpoint = localEndpoint
			fallback = fallbackNote(e.probeURL)
		}
	}
	apiKey := c.apiKey
	if apiKey == "" {
		apiKey = os.Getenv("OPENAI_API_KEY")
	}
	mode, _ := backend.ParseLogprobsMode(c.logprobsMode) // checked by problems
	cfg := openai.Config{
		BaseURL: endpoint, Model: c.model, APIKey: apiKey, LogprobsMode: mode,
		ConnectTimeout: c.connectTimeout, FirstTokenTimeout: c.firstTokenTimeout, IdleTimeout: c.idleTime,
	}
	if endpoint == localEndpoint {
		m, err := local.Load()
		if err != nil {
			return chosenBackend{}, fmt.Errorf("loading the built-in model: %w", err)
		}
		if c.model != "" && c.model != local.DefaultModelName {
			return chosenBackend{}, &usageError{fmt.Errorf("--model: the built-in model is %q, not %q", local.DefaultModelName, c.model)}
		}
		// The built-in server is reached in-process: no port is opened.
		cfg.BaseURL, cfg.Model, cfg.APIKey = "http://twinkle.local/v1", local.DefaultModelName, ""
		// In-process, the server runs with the mode asked for and adds the processed
		// logprobs beside whatever it returns, so both distributions can be shown.
		cfg.HTTPClient = localserver.NewClient(m, localserver.Options{LogprobsMode: local.LogprobsMode(mode), Processed: true})
		cl, err := openai.New(cfg)
		if err != nil {
			return chosenBackend{}, err
		}
		return chosenBackend{sampler: cl, endpoint: localEndpoint, model: local.DefaultModelName, local: true, fallback: fallback}, nil
	}
	cl, err := openai.New(cfg)
	if err != nil {
		return chosenBackend{}, &usageError{fmt.Errorf("--endpoint: %w", err)}
	}
	return chosenBackend{sampler: cl, endpoint: endpoint, model: c.model}, nil
}

// fallbackNote says that nothing answered at the probed address, so the built-in model
// is used.
func fallbackNote(probed string) string {
	addr := probed
	if u, err := url.Parse(probed); err == nil && u.Host != "" {
		addr = u.Host
	}
	return "no server at " + addr + ", using the built-in model; --endpoint to choose"
}

// probe reports whether an OpenAI-compatible server answers at base within d.
func probe(ctx context.Context, base string, d time.Duration) bool {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(base, "/")+"/models", nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode < 500
}

func newSampleCmd(e env) *cobra.Command {
	var mode, system string
	var stream bool
	var conn connFlags
	cmd := &cobra.Command{
		Use:   "sample [parameter flags] [--mode chat|completion] [-n N] [--logprobs K] [--prompt-logprobs K] PROMPT",
		Short: "Draw samples and print the SampleResponse JSON",
		Long: "sample sends PROMPT (- reads stdin) with the sampling parameters to a vLLM OpenAI-compatible\n" +
			"server (or the built-in model, as for the playground), streams the samples, and prints twinkle's\n" +
			"SampleResponse as JSON; --stream prints one JSON line per event instead. Every sampling field is\n" +
			"sent explicitly. Greedy with -n > 1 draws one sample and says the others would be identical.\n" +
			"Without --mode, a chat request the server refuses for want of a chat template is sent again\n" +
			"in completion mode, and stderr says so. A failed sample exits 1 after printing what arrived;\n" +
			"a failed prompt-logprobs request is a warning on stderr.",
	}
	x := registerSampleExtra(cmd)
	cmd.Args = usageArgs(x.checkArgs)
	f := cmd.Flags()
	conn.register(f)
	conn.registerMode(f)
	f.StringVar(&mode, "mode", "", modeHelp)
	f.StringVar(&system, "system", "", "system message (chat mode)")
	f.BoolVar(&stream, "stream", false, "print one JSON line per event instead of the final JSON")
	pf := params.RegisterFlags(f, true)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		api, p, o, problems := resolveFlags(pf, mode)
		problems = append(problems, conn.problems()...)
		problems = append(problems, x.problems(p, o, system, stream)...)
		if len(problems) > 0 {
			return &params.FlagError{Problems: problems}
		}
		if x.active() {
			return x.run(cmd, e, conn, api, p, o, system, stream, args)
		}
		prompt := args[0]
		if prompt == "-" {
			b, err := io.ReadAll(cmd.InOrStdin())
			if err != nil {
				return fmt.Errorf("reading the prompt from stdin: %w", err)
			}
			prompt = strings.TrimSuffix(string(b), "\n")
		}
		b, err := conn.open(cmd.Context(), e)
		if err != nil {
			return err
		}
		stderr := cmd.ErrOrStderr()
		if b.fallback != "" {
			fmt.Fprintln(stderr, "twinkle: "+b.fallback)
		}
		s := &cliSampler{Sampler: b.sampler, auto: api == "", local: b.local, stderr: stderr}
		if api == "" && b.local && chatOnlyNote(o) != "" {
			fmt.Fprintln(stderr, "twinkle: the built-in model runs in completion mode"+chatOnlyNote(o))
		}
		if o, err = resolveLogitBiasText(cmd.Context(), b, o); err != nil {
			return err
		}
		api = modeFor(api, b.local)
		req := backend.Request{API: api, Model: b.model, Prompt: prompt, Params: p, Options: o}
		if api == params.Chat {
			if system != "" {
				req.Messages = append(req.Messages, backend.Message{Role: "system", Content: system})
			}
			req.Messages = append(req.Messages, backend.Message{Role: "user", Content: prompt})
		}
		_, err = runSampleWithStats(cmd.Context(), s, req, stream, cmd.OutOrStdout())
		for _, w := range s.warnings {
			fmt.Fprintln(stderr, "twinkle: warning: "+sanitize.Line(w.Error()))
		}
		return err
	}
	return cmd
}

// resolveLogitBiasText turns --logit-bias keys given as text into token ids with the
// server's own tokenizer (vLLM's /tokenize), before anything is sampled: vLLM's logit_bias
// takes ids only, and only the model's tokenizer knows them. Text that is not exactly one
// token, or a server without /tokenize, is a flag problem naming the text.
func resolveLogitBiasText(ctx context.Context, b chosenBackend, o params.Options) (params.Options, error) {
	if len(o.Advanced.Unresolved()) == 0 {
		return o, nil
	}
	tk, ok := b.sampler.(backend.Tokenizer)
	if !ok {
		return o, nil // the request's own check refuses the text, naming it
	}
	a, err := o.Advanced.ResolveText(func(text string) ([]int, error) {
		ids, err := tk.Tokenize(ctx, b.model, text, false)
		out := make([]int, len(ids))
		for i, id := range ids {
			out[i] = int(id)
		}
		return out, err
	})
	var es params.Errors
	if errors.As(err, &es) {
		fe := &params.FlagError{}
		for _, e := range es {
			fe.Problems = append(fe.Problems, "--logit-bias: "+sanitize.Line(e.Msg)+" (by the server's /tokenize)")
		}
		return o, fe
	}
	if err != nil {
		return o, err
	}
	o.Advanced = a
	return o, nil
}

// cliSampler is the Sampler `twinkle sample` runs through. In automatic mode a chat
// request refused for want of a chat template (backend.NoChatTemplate) is sent again as
// a completion request of the same prompt, and stderr says so. Errors that end no
// sample (a failed prompt-logprobs request) are kept in warnings, read once the run's
// channel is closed.
type cliSampler struct {
	backend.Sampler
	auto     bool
	local    bool // the built-in model, named so in errors
	stderr   io.Writer
	warnings []*backend.Error
}

func (c *cliSampler) Start(ctx context.Context, req backend.Request) (<-chan backend.Event, error) {
	ch, err := c.Sampler.Start(ctx, req)
	if err != nil {
		return nil, err
	}
	var held []backend.Event
	if c.auto && req.API == params.Chat {
		// A refusal comes before any token: hold the events back until it is clear.
		for ev := range ch {
			held = append(held, ev)
			refused := ev.Err != nil && backend.NoChatTemplate(ev.Err)
			if ev.Kind == backend.EventFinish && refused {
				for range ch {
				}
				note := "twinkle: the server has no chat template for this model (HTTP 400); switched to completion mode (--mode to choose)"
				if len(req.Messages) > 1 {
					note += "; the system message is not sent"
				}
				note += chatOnlyNote(req.Options)
				fmt.Fprintln(c.stderr, note)
				req.API, req.Messages = params.Completion, nil
				if ch, err = c.Sampler.Start(ctx, req); err != nil {
					return nil, err
				}
				held = nil
				break
			}
			if ev.Kind != backend.EventStart && !refused {
				break
			}
		}
	}
	out := make(chan backend.Event)
	go func() {
		defer close(out)
		who := "the model at this endpoint"
		if c.local {
			who = "the built-in model"
		}
		see := func(ev backend.Event) {
			// A chat mode the user chose is kept: the refusal says why, and the way on.
			ev.Err = backend.ExplainNoChatTemplate(ev.Err, who, "use --mode completion")
			if ev.Kind == backend.EventError && ev.Err != nil {
				c.warnings = append(c.warnings, ev.Err)
			}
			out <- ev
		}
		for _, ev := range held {
			see(ev)
		}
		for ev := range ch {
			see(ev)
		}
	}()
	return out, nil
}

func newModelsCmd(e env) *cobra.Command {
	var conn connFlags
	cmd := &cobra.Command{
		Use:   "models",
		Short: "List the models the endpoint serves (GET /v1/models), one a line",
		Args:  usageArgs(cobra.NoArgs),
	}
	conn.register(cmd.Flags())
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if problems := conn.problems(); len(problems) > 0 {
			return &params.FlagError{Problems: problems}
		}
		b, err := conn.open(cmd.Context(), e)
		if err != nil {
			return err
		}
		if b.fallback != "" {
			fmt.Fprintln(cmd.ErrOrStderr(), "twinkle: "+b.fallback)
		}
		models, err := b.sampler.Models(cmd.Context())
		if err != nil {
			return err
		}
		for _, m := range models {
			// Model names come from the server: one line each, terminal-safe.
			fmt.Fprintln(cmd.OutOrStdout(), sanitize.Line(m.ID))
		}
		return nil
	}
	return cmd
}

func newServeModelCmd() *cobra.Command {
	var listen, logprobsMode string
	var maxConcurrent int
	cmd := &cobra.Command{
		Use:   "serve-model [--listen HOST:PORT]",
		Short: "Serve the built-in model over an OpenAI-compatible HTTP API in vLLM's wire format",
		Long: "serve-model exposes the built-in model (" + local.DefaultModelName + ") as vLLM would: /v1/models,\n" +
			"/v1/completions, /v1/chat/completions (streaming or not), /tokenize and /detokenize, with vLLM's\n" +
			"validation errors. Any OpenAI client can use it.",
		Args: usageArgs(cobra.NoArgs),
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8000", "address to listen on")
	cmd.Flags().IntVar(&maxConcurrent, "max-concurrent", 1, "generations run at once; more wait their turn (each already uses every core)")
	cmd.Flags().StringVar(&logprobsMode, "logprobs-mode", "raw_logprobs", "which values logprobs carry, as vLLM's flag: raw_logprobs, raw_logits, processed_logprobs or processed_logits")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		var problems []string
		if _, err := backend.ParseLogprobsMode(logprobsMode); err != nil {
			problems = append(problems, "--logprobs-mode: "+err.Error())
		}
		if maxConcurrent < 1 {
			problems = append(problems, fmt.Sprintf("--max-concurrent: must be at least 1, got %d", maxConcurrent))
		}
		if len(problems) > 0 {
			return &params.FlagError{Problems: problems}
		}
		opts := localserver.Options{MaxConcurrent: maxConcurrent, LogprobsMode: local.LogprobsMode(logprobsMode)}
		err := localserver.ServeModel(cmd.Context(), listen, opts, func(a net.Addr) {
			fmt.Fprintf(cmd.ErrOrStderr(), "twinkle serve-model: %s at http://%s/v1\n", local.DefaultModelName, a)
		})
		return listenError("--listen", listen, err)
	}
	return cmd
}

// listenError names the flag and address of a listen that failed ("--listen :8000: listen
// tcp :8000: bind: address already in use"); other errors pass as they are.
func listenError(flag, addr string, err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "listen" {
		return fmt.Errorf("%s %s: %w", flag, addr, err)
	}
	return err
}

// newTestServerCmd is the hidden `twinkle testserver`: the scriptable vLLM-format test
// server (backend/vllmtest), for trying the CLI and the TUI without a GPU.
func newTestServerCmd() *cobra.Command {
	var addr string
	var reasoning bool
	cmd := &cobra.Command{
		Use:    "testserver [--addr HOST:PORT] [--reasoning]",
		Short:  "Serve a fake vLLM OpenAI-compatible API (deterministic samples) for manual testing",
		Hidden: true,
		Args:   usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return listenError("--addr", addr, err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "twinkle testserver: serving http://%s/v1\n", ln.Addr())
			if reasoning {
				return vllmtest.ServeReasoning(cmd.Context(), ln)
			}
			return vllmtest.Serve(cmd.Context(), ln)
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8000", "address to listen on")
	cmd.Flags().BoolVar(&reasoning, "reasoning", false, "list the reasoning model ("+vllmtest.ReasoningModel+") first, so clients take it")
	return cmd
}

func newExportCmd() *cobra.Command {
	var format, mode, model, endpoint, prompt, system string
	cmd := &cobra.Command{
		Use:   "export --format FORMAT [parameter flags]",
		Short: "Print the sampling parameters as code: " + strings.Join(params.Formats(), ", "),
		Long: "export prints the sampling parameters in one of these formats:\n" +
			"  twinkle       Python: twinkle.data_format.SamplingParams\n" +
			"  vllm          Python: vllm.SamplingParams (offline vLLM)\n" +
			"  transformers  Python: set_seed and model.generate(**kwargs)\n" +
			"  openai        JSON request body for /v1/chat/completions (or /v1/completions) with vLLM's extras\n" +
			"  curl          a complete curl command for the same request (the API key is read from $OPENAI_API_KEY)",
		Args: usageArgs(cobra.NoArgs),
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "one of "+strings.Join(params.Formats(), ", "))
	cmd.Flags().StringVar(&mode, "mode", "", modeHelp+" (openai and curl formats)")
	cmd.Flags().StringVar(&model, "model", "", "model name in the request body (openai and curl formats)")
	cmd.Flags().StringVar(&endpoint, "endpoint", "", "OpenAI base URL for curl (default $OPENAI_BASE_URL or "+vllmDefault+")")
	cmd.Flags().StringVar(&prompt, "prompt", "", "prompt text to put in the request (openai and curl formats)")
	cmd.Flags().StringVar(&system, "system", "", "system message (chat mode)")
	pf := params.RegisterFlags(cmd.Flags(), true)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		api, p, o, problems := resolveFlags(pf, mode)
		if format == "" {
			problems = append(problems, "--format: required, one of "+strings.Join(params.Formats(), ", "))
		} else if !slices.Contains(params.Formats(), format) {
			problems = append(problems, fmt.Sprintf("--format: %q is not one of %s", format, strings.Join(params.Formats(), ", ")))
		}
		if o.GreedyConflict(p) {
			problems = append(problems, fmt.Sprintf("--temperature %g is greedy sampling, so -n/--samples must be 1, got %d: every greedy sample is the same", p.Temperature, o.N))
		}
		if len(problems) > 0 {
			return &params.FlagError{Problems: problems}
		}
		if endpoint == "" {
			endpoint = os.Getenv("OPENAI_BASE_URL")
		}
		out, err := params.Export(format, p, params.Target{
			API: modeFor(api, false), Model: model, Endpoint: endpoint, Prompt: prompt, System: system, Options: o,
		})
		if err != nil {
			return &params.FlagError{Problems: []string{err.Error()}}
		}
		_, err = io.WriteString(cmd.OutOrStdout(), out)
		return err
	}
	return cmd
}

// resolveFlags reads --mode (empty: decided later) and the parameter flags, gathering
// every problem so a person sees them all at once.
func resolveFlags(pf *params.Flags, mode string) (api params.API, p params.SamplingParams, o params.Options, problems []string) {
	if mode != "" {
		var err error
		if api, err = params.ParseAPI(mode); err != nil {
			problems = append(problems, "--mode: "+err.Error())
		}
	}
	p, o, err := pf.Resolve()
	var fe *params.FlagError
	if errors.As(err, &fe) {
		problems = append(problems, fe.Problems...)
	}
	if api == params.Completion {
		for _, f := range chatOnlyFlags(o) {
			problems = append(problems, f+": the chat template reads it, and completion mode has none (use --mode chat)")
		}
	}
	return api, p, o, problems
}

// chatOnlyFlags names the flags set that only a chat request carries.
func chatOnlyFlags(o params.Options) []string {
	var out []string
	for _, k := range o.Advanced.ChatOnly() {
		if s, ok := params.Lookup(k); ok {
			out = append(out, "--"+s.Flag)
		}
	}
	return out
}

// chatOnlyNote says, when a run fell to completion mode, which flags it does not send.
func chatOnlyNote(o params.Options) string {
	if fs := chatOnlyFlags(o); len(fs) > 0 {
		return "; " + strings.Join(fs, " and ") + " (chat only) not sent"
	}
	return ""
}
