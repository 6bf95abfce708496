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
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/fang/v2"
	"github.com/BurntSushi/toml"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/backend/local"
	"github.com/twinkle-sh/twinkle/backend/openai"
	"github.com/twinkle-sh/twinkle/backend/vllmtest"
	"github.com/twinkle-sh/twinkle/params"
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
	root := newRoot(env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, probeURL: vllmDefault, probeTimeout: 400 * time.Millisecond})
	if err := fang.Execute(context.Background(), root,
		fang.WithVersion(version()),
		fang.WithErrorHandler(errorHandler),
		fang.WithNotifySignal(os.Interrupt),
	); err != nil {
		os.Exit(exitCode(err))
	}
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

// errorHandler prints errors plainly, one problem a line. Error text can quote a server
// or a model, so it is made terminal-safe first.
func errorHandler(w io.Writer, _ fang.Styles, err error) {
	msg := strings.TrimRight(sanitize.Text(err.Error()), "\n")
	fmt.Fprintln(w, "twinkle: "+strings.ReplaceAll(msg, "\n", "\ntwinkle: "))
	if exitCode(err) == 2 {
		fmt.Fprintln(w, "Try --help for usage.")
	}
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
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(e.stdin)
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })

	var conn connFlags
	conn.register(root.Flags())
	var mode, system, prompt, theme, heatmapMode, load, configPath string
	root.Flags().StringVar(&mode, "mode", "", "chat or completion (default from the config file, else completion for the built-in model and chat otherwise)")
	root.Flags().StringVar(&system, "system", "", "system message (chat mode)")
	root.Flags().StringVar(&prompt, "prompt", "", "start with this prompt in the editor")
	root.Flags().StringVar(&theme, "theme", "", "theme: "+strings.Join(themes.BuiltinNames(), ", ")+", or a user theme in the config folder's themes/")
	root.Flags().StringVar(&heatmapMode, "heatmap", "", "starting heatmap mode: probability, surprisal, rank, entropy or off")
	root.Flags().StringVar(&load, "load", "", "open a saved session file exactly as it was saved (no server needed)")
	root.Flags().StringVar(&configPath, "config", "", "config file (default $XDG_CONFIG_HOME/twinkle/config.toml)")
	pf := params.RegisterFlags(root.Flags(), true)
	root.RunE = func(cmd *cobra.Command, _ []string) error {
		cfgFile, err := loadConfig(configPath)
		if err != nil {
			return &usageError{err}
		}
		cfgFile.applyTo(cmd.Flags(), &conn, &mode, &theme, &heatmapMode)
		api, p, o, problems := resolveFlags(pf, mode)
		if !cmd.Flags().Changed("samples") && o.N <= 1 {
			o.N = 4 // a playground compares samples; the CLI default of 1 suits scripts
		}
		if !cmd.Flags().Changed("max-tokens") && p.MaxTokens == nil {
			// Server defaults are 16 tokens (completions) or the rest of the context (chat):
			// too few to compare, or more than a screen holds. The slider still reaches it.
			n := 256
			p.MaxTokens = &n
		}
		if !cmd.Flags().Changed("logprobs") && o.Logprobs == nil {
			k := 5
			o.Logprobs = &k
		}
		cfg := ui.Config{API: api, Params: p, Options: o, System: system, Prompt: prompt, IsDark: true, Context: cmd.Context()}
		if theme != "" {
			var fileErr *themes.FileError
			pal, userFile, err := loadTheme(theme)
			switch {
			case errors.As(err, &fileErr):
				// A broken theme file costs the user its colours, not the session.
				fmt.Fprintln(e.stderr, "twinkle: "+sanitize.Text(err.Error())+"; using the default theme")
			case err != nil:
				problems = append(problems, "--theme: "+err.Error())
			case userFile:
				cfg.Palette = &pal
			default:
				cfg.Theme = theme // a built-in follows the terminal's light or dark background
			}
		}
		if _, ok := heatmap.ParseMode(heatmapMode); heatmapMode != "" && !ok {
			problems = append(problems, fmt.Sprintf("--heatmap: %q is not one of probability, surprisal, rank, entropy, off", heatmapMode))
		}
		cfg.Heatmap = heatmapMode
		if len(problems) > 0 {
			return &params.FlagError{Problems: problems}
		}
		if load != "" {
			s, err := ui.LoadSession(load)
			if err != nil {
				return &usageError{err}
			}
			cfg.Session, cfg.SessionPath = s, load
		}
		b, err := conn.open(cmd.Context(), e)
		if err != nil {
			if cfg.Session == nil {
				return err
			}
			// A saved session opens without a server; runs are off until one is reachable.
			fmt.Fprintln(e.stderr, "twinkle: "+sanitize.Line(err.Error())+"; showing the session read-only")
		} else {
			cfg.Sampler, cfg.Endpoint, cfg.Model = b.sampler, b.endpoint, b.model
			if cfg.API == "" && b.local {
				cfg.API = params.Completion // the built-in model knows Go, not chats
			}
		}
		return e.runTUI(cmd.Context(), cfg)
	}
	root.AddCommand(newExportCmd(), newSampleCmd(e), newModelsCmd(e), newServeModelCmd(), newTestServerCmd())
	root.AddCommand(newServeCmd(e))
	return root
}

// loadTheme finds a theme by name: a user file in the themes folder first (it may
// shadow a built-in), then the built-ins.
func loadTheme(name string) (themes.Palette, bool, error) {
	dir, _ := themes.Dir()
	userFile := false
	if dir != "" && !strings.ContainsAny(name, `/\`) {
		_, err := os.Stat(filepath.Join(dir, name+".toml"))
		userFile = err == nil
	}
	pal, err := themes.NewRegistry(dir).Load(name, true)
	return pal, userFile, err
}

func runTUI(ctx context.Context, cfg ui.Config) error {
	_, err := tea.NewProgram(ui.New(cfg), tea.WithContext(ctx)).Run()
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return nil // interrupted by a signal: a normal way to leave
	}
	return err
}

// connFlags choose the backend: a server's endpoint, or the built-in model.
type connFlags struct {
	endpoint, model, apiKey                     string
	connectTimeout, firstTokenTimeout, idleTime time.Duration
}

func (c *connFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&c.endpoint, "endpoint", "", "the OpenAI base URL, such as "+vllmDefault+" (default $OPENAI_BASE_URL), or \"local\" for the built-in model")
	fs.StringVar(&c.model, "model", "", "model name (default: the first one the server lists)")
	fs.StringVar(&c.apiKey, "api-key", "", "the API key (default $OPENAI_API_KEY); never printed, logged or saved")
	fs.DurationVar(&c.connectTimeout, "connect-timeout", 10*time.Second, "bound on connecting to the server")
	fs.DurationVar(&c.firstTokenTimeout, "first-token-timeout", 120*time.Second, "bound on the wait for the first token")
	fs.DurationVar(&c.idleTime, "idle-timeout", 60*time.Second, "bound on the wait between tokens (keep-alives do not count)")
}

// chosenBackend is where samples come from.
type chosenBackend struct {
	sampler  backend.Sampler
	endpoint string // shown in the header; "local" for the built-in model
	model    string
	local    bool
}

// open picks the backend: --endpoint, else $OPENAI_BASE_URL, else vLLM's default
// address if something answers there within the probe timeout, else the built-in model.
func (c connFlags) open(ctx context.Context, e env) (chosenBackend, error) {
	endpoint := c.endpoint
	if endpoint == "" {
		endpoint = os.Getenv("OPENAI_BASE_URL")
	}
	if endpoint == "" {
		if e.probeURL != "" && probe(ctx, e.probeURL, e.probeTimeout) {
			endpoint = e.probeURL
		} else {
			endpoint = localEndpoint
		}
	}
	apiKey := c.apiKey
	if apiKey == "" {
		apiKey = os.Getenv("OPENAI_API_KEY")
	}
	cfg := openai.Config{
		BaseURL: endpoint, Model: c.model, APIKey: apiKey,
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
		cfg.HTTPClient = local.NewClient(m, local.ServerOptions{})
		cl, err := openai.New(cfg)
		if err != nil {
			return chosenBackend{}, err
		}
		return chosenBackend{sampler: cl, endpoint: localEndpoint, model: local.DefaultModelName, local: true}, nil
	}
	cl, err := openai.New(cfg)
	if err != nil {
		return chosenBackend{}, &usageError{fmt.Errorf("--endpoint: %w", err)}
	}
	return chosenBackend{sampler: cl, endpoint: endpoint, model: c.model}, nil
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
			"A failed sample exits 1 after printing what arrived.",
		Args: cobra.ExactArgs(1),
	}
	f := cmd.Flags()
	conn.register(f)
	f.StringVar(&mode, "mode", "", "chat (/v1/chat/completions) or completion (/v1/completions); default chat, completion for the built-in model")
	f.StringVar(&system, "system", "", "system message (chat mode)")
	f.BoolVar(&stream, "stream", false, "print one JSON line per event instead of the final JSON")
	pf := params.RegisterFlags(f, true)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		api, p, o, problems := resolveFlags(pf, mode)
		if len(problems) > 0 {
			return &params.FlagError{Problems: problems}
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
		if api == "" {
			api = params.Chat
			if b.local {
				api = params.Completion
			}
		}
		req := backend.Request{API: api, Model: b.model, Prompt: prompt, Params: p, Options: o}
		if api == params.Chat {
			if system != "" {
				req.Messages = append(req.Messages, backend.Message{Role: "system", Content: system})
			}
			req.Messages = append(req.Messages, backend.Message{Role: "user", Content: prompt})
		}
		_, err = backend.RunSample(cmd.Context(), b.sampler, req, stream, cmd.OutOrStdout())
		return err
	}
	return cmd
}

func newModelsCmd(e env) *cobra.Command {
	var conn connFlags
	cmd := &cobra.Command{
		Use:   "models",
		Short: "List the models the endpoint serves (GET /v1/models), one a line",
		Args:  cobra.NoArgs,
	}
	conn.register(cmd.Flags())
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		b, err := conn.open(cmd.Context(), e)
		if err != nil {
			return err
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
	var listen string
	var maxConcurrent int
	cmd := &cobra.Command{
		Use:   "serve-model [--listen HOST:PORT]",
		Short: "Serve the built-in model over an OpenAI-compatible HTTP API in vLLM's wire format",
		Long: "serve-model exposes the built-in model (" + local.DefaultModelName + ") as vLLM would: /v1/models,\n" +
			"/v1/completions, /v1/chat/completions (streaming or not), /tokenize and /detokenize, with vLLM's\n" +
			"validation errors. Any OpenAI client can use it.",
		Args: cobra.NoArgs,
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8000", "address to listen on")
	cmd.Flags().IntVar(&maxConcurrent, "max-concurrent", 1, "generations run at once; more wait their turn (each already uses every core)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return local.ServeModel(cmd.Context(), listen, local.ServerOptions{MaxConcurrent: maxConcurrent}, func(a net.Addr) {
			fmt.Fprintf(cmd.ErrOrStderr(), "twinkle serve-model: %s at http://%s/v1\n", local.DefaultModelName, a)
		})
	}
	return cmd
}

// newTestServerCmd is the hidden `twinkle testserver`: the scriptable vLLM-format test
// server (backend/vllmtest), for trying the CLI and the TUI without a GPU.
func newTestServerCmd() *cobra.Command {
	var addr string
	cmd := &cobra.Command{
		Use:    "testserver [--addr HOST:PORT]",
		Short:  "Serve a fake vLLM OpenAI-compatible API (deterministic samples) for manual testing",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(cmd.ErrOrStderr(), "twinkle testserver: serving http://%s/v1\n", addr)
			return vllmtest.ListenAndServe(addr)
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8000", "address to listen on")
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
		Args: cobra.NoArgs,
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "one of "+strings.Join(params.Formats(), ", "))
	cmd.Flags().StringVar(&mode, "mode", "chat", "chat or completion (openai and curl formats)")
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
		if len(problems) > 0 {
			return &params.FlagError{Problems: problems}
		}
		if endpoint == "" {
			endpoint = os.Getenv("OPENAI_BASE_URL")
		}
		out, err := params.Export(format, p, params.Target{
			API: api, Model: model, Endpoint: endpoint, Prompt: prompt, System: system, Options: o,
		})
		if err != nil {
			return &params.FlagError{Problems: []string{err.Error()}}
		}
		_, err = io.WriteString(cmd.OutOrStdout(), out)
		return err
	}
	return cmd
}

// configFile is $XDG_CONFIG_HOME/twinkle/config.toml: defaults a flag overrides.
type configFile struct {
	Endpoint string `toml:"endpoint"`
	Model    string `toml:"model"`
	Mode     string `toml:"mode"`
	Theme    string `toml:"theme"`
	Heatmap  string `toml:"heatmap"`
}

// loadConfig reads the config file; a missing default file is fine, a malformed one is
// an error naming the file, line and key, and nothing is written.
func loadConfig(path string) (configFile, error) {
	explicit := path != ""
	if !explicit {
		// The same folder as presets and themes: $XDG_CONFIG_HOME/twinkle or ~/.config/twinkle.
		dir, err := ui.ConfigDir()
		if err != nil {
			return configFile{}, nil
		}
		path = filepath.Join(dir, "config.toml")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if !explicit && errors.Is(err, os.ErrNotExist) {
			return configFile{}, nil
		}
		return configFile{}, fmt.Errorf("config: %w", err)
	}
	var c configFile
	md, err := toml.Decode(string(data), &c)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return configFile{}, fmt.Errorf("%s:%d: %s", path, pe.Position.Line, pe.Message)
		}
		return configFile{}, fmt.Errorf("%s: %v", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		key := und[0].String()
		return configFile{}, fmt.Errorf("%s:%d: unknown key %q (known: endpoint, model, mode, theme, heatmap)", path, keyLine(data, und[0][len(und[0])-1]), key)
	}
	return c, nil
}

// keyLine finds the line where a key is set, to point a person at it.
func keyLine(data []byte, key string) int {
	for i, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), key) {
			return i + 1
		}
	}
	return 1
}

// applyTo fills what no flag set from the config file.
func (c configFile) applyTo(fs *pflag.FlagSet, conn *connFlags, mode, theme, heatmap *string) {
	set := func(flag string, dst *string, v string) {
		if v != "" && !fs.Changed(flag) {
			*dst = v
		}
	}
	set("endpoint", &conn.endpoint, c.Endpoint)
	set("model", &conn.model, c.Model)
	set("mode", mode, c.Mode)
	set("theme", theme, c.Theme)
	set("heatmap", heatmap, c.Heatmap)
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
	return api, p, o, problems
}
