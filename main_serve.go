package main

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/twinkle-sh/twinkle/params"
	"github.com/twinkle-sh/twinkle/serve"
)

// newServeCmd is `twinkle serve`: the playground over SSH (package serve).
func newServeCmd(e env) *cobra.Command {
	var (
		conn                       connFlags
		listen, hostKey, authKeys  string
		mode, logFormat            string
		open                       bool
		caps                       serve.Caps
		lim                        = serve.DefaultLimits()
		maxTokensCap, maxLogprobsN int
	)
	cmd := &cobra.Command{
		Use:   "serve --authorized-keys FILE | --open [--listen ADDR] [flags]",
		Short: "Serve the playground over SSH: each connection gets its own, on this server's backend",
		Long: "serve runs an SSH server; every connection (ssh -p PORT HOST) gets its own playground with its own\n" +
			"colours, sampling from this server's backend (--endpoint, --model, --api-key, or the built-in model).\n" +
			"Viewers pick among the server's models but never an endpoint or a key, cannot read or write files here,\n" +
			"and stay within the caps whatever their sliders say.\n\n" +
			"Who gets in: the public keys in --authorized-keys FILE, or with --open anyone (a public demo). One of\n" +
			"the two is required; passwords and keyboard-interactive logins are never accepted.",
		Args: cobra.NoArgs,
	}
	f := cmd.Flags()
	conn.register(f)
	f.StringVar(&listen, "listen", ":2222", "address to listen on")
	f.StringVar(&hostKey, "host-key", "", "the server's host key; created (ed25519) when missing (default $XDG_DATA_HOME/twinkle/ssh_host_ed25519_key)")
	f.StringVar(&authKeys, "authorized-keys", "", "admit the public keys in this authorized_keys file (re-read when it changes)")
	f.BoolVar(&open, "open", false, "admit anyone with any public key: a public demo")
	f.StringVar(&mode, "mode", "", "chat or completion (default: completion for the built-in model, chat otherwise)")
	f.StringVar(&logFormat, "log-format", "text", "log records on stderr as text or json")
	f.IntVar(&maxTokensCap, "max-tokens-cap", 1024, "the most max_tokens a viewer may ask for (2 or more)")
	f.IntVar(&caps.Samples, "max-samples", 8, fmt.Sprintf("the most samples per run (2 to %d)", params.MaxSamples))
	f.IntVar(&maxLogprobsN, "max-logprobs", 10, fmt.Sprintf("the most top-K logprobs per token (1 to %d)", params.MaxLogprobs))
	f.IntVar(&lim.MaxConns, "max-conns", lim.MaxConns, "open connections in total")
	f.IntVar(&lim.MaxConnsPerIP, "max-conns-per-ip", lim.MaxConnsPerIP, "open connections per IPv4 address or IPv6 /64")
	f.IntVar(&lim.MaxRuns, "max-runs", lim.MaxRuns, "runs in flight to the backend across all sessions; more wait in line (default 1 for the built-in model)")
	f.DurationVar(&lim.IdleTimeout, "session-idle", lim.IdleTimeout, "close a session after this long without a keystroke (output does not count)")
	f.DurationVar(&lim.MaxSession, "max-session", lim.MaxSession, "close a session after this long")
	f.DurationVar(&lim.HandshakeTimeout, "handshake-timeout", lim.HandshakeTimeout, "bound on connecting and logging in")
	f.IntVar(&lim.FPS, "fps", lim.FPS, "most screen updates a second per session (drawing is most of a streaming session's cost)")
	f.IntVar(&lim.OutputBuffer, "output-buffer", lim.OutputBuffer, "bytes of screen output a session may have waiting; beyond it frames are dropped and the screen redrawn")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		caps.MaxTokens, caps.Logprobs = maxTokensCap, maxLogprobsN
		var problems []string
		if caps.MaxTokens < 2 {
			problems = append(problems, "--max-tokens-cap: must be 2 or more")
		}
		if caps.Samples < 2 || caps.Samples > params.MaxSamples {
			problems = append(problems, fmt.Sprintf("--max-samples: must be 2 to %d", params.MaxSamples))
		}
		if caps.Logprobs < 1 || caps.Logprobs > params.MaxLogprobs {
			problems = append(problems, fmt.Sprintf("--max-logprobs: must be 1 to %d", params.MaxLogprobs))
		}
		if logFormat != "text" && logFormat != "json" {
			problems = append(problems, fmt.Sprintf("--log-format: %q is not text or json", logFormat))
		}
		var api params.API
		if mode != "" {
			var err error
			if api, err = params.ParseAPI(mode); err != nil {
				problems = append(problems, "--mode: "+err.Error())
			}
		}
		if len(problems) > 0 {
			return &params.FlagError{Problems: problems}
		}
		if !open && authKeys == "" {
			return &usageError{serve.ErrNoAuthPolicy}
		}
		ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		b, err := conn.open(ctx, e)
		if err != nil {
			return err
		}
		if api == "" {
			api = params.Chat
			if b.local {
				api = params.Completion
			}
		}
		if !f.Changed("max-runs") && b.local {
			lim.MaxRuns = 1 // one generation already uses every core
		}
		var h slog.Handler = slog.NewTextHandler(e.stderr, nil)
		if logFormat == "json" {
			h = slog.NewJSONHandler(e.stderr, nil)
		}
		// The playground's starting point, brought under the caps by each session.
		p := params.Default()
		n, k := 256, 5
		p.MaxTokens = &n
		srv, err := serve.New(serve.Config{
			HostKeyPath: hostKey, AuthorizedKeysPath: authKeys, Open: open,
			Sampler: b.sampler, Endpoint: b.endpoint, Model: b.model, API: api,
			Params: p, Options: params.Options{N: 4, Logprobs: &k},
			Caps: caps, Limits: lim, Log: slog.New(h),
		})
		if err != nil {
			return &usageError{err}
		}
		w := e.stderr
		return srv.ListenAndServe(ctx, listen, func(a net.Addr) {
			_, port, _ := net.SplitHostPort(a.String())
			created := ""
			if srv.HostKeyCreated() {
				created = " (created now)"
			}
			fmt.Fprintf(w, "twinkle serve: listening on %s; connect with: ssh -p %s HOST\n", a, port)
			fmt.Fprintf(w, "twinkle serve: host key %s %s%s\n", srv.HostKeyPath(), srv.Fingerprint(), created)
			fmt.Fprintf(w, "twinkle serve: backend %s, caps max_tokens %d, samples %d, logprobs %d; %d run(s) at once\n",
				b.endpoint, caps.MaxTokens, caps.Samples, caps.Logprobs, lim.MaxRuns)
			if open {
				fmt.Fprintln(w, "twinkle serve: OPEN DEMO: ANYONE WHO CAN REACH THIS PORT GETS A PLAYGROUND on this backend (any public key is accepted)")
			} else {
				fmt.Fprintf(w, "twinkle serve: admitting the keys in %s\n", authKeys)
			}
		})
	}
	return cmd
}
