package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/backend/openai"
	"github.com/twinkle-sh/twinkle/backend/vllmtest"
	"github.com/twinkle-sh/twinkle/params"
)

// newSampleCmd is `twinkle sample`: the logic is backend.RunSample; this only wires flags.
func newSampleCmd() *cobra.Command {
	var mode, endpoint, model, apiKey, system string
	var stream bool
	var connectTimeout, firstTokenTimeout, idleTimeout time.Duration
	cmd := &cobra.Command{
		Use:   "sample [parameter flags] [--mode chat|completion] [-n N] [--logprobs K] [--prompt-logprobs K] PROMPT",
		Short: "Draw samples from a vLLM OpenAI-compatible server and print the SampleResponse JSON",
		Long: "sample sends PROMPT (- reads stdin) with the sampling parameters to a vLLM OpenAI-compatible\n" +
			"server, streams the samples, and prints twinkle's SampleResponse as JSON; --stream prints one JSON\n" +
			"line per event instead. Every sampling field is sent explicitly. A failed sample exits 1 after\n" +
			"printing what arrived.",
		Args: cobra.ExactArgs(1),
	}
	f := cmd.Flags()
	f.StringVar(&mode, "mode", "chat", "chat (/v1/chat/completions) or completion (/v1/completions)")
	f.StringVar(&endpoint, "endpoint", "", "OpenAI base URL, e.g. http://localhost:8000/v1 (default $OPENAI_BASE_URL)")
	f.StringVar(&model, "model", "", "model name (default: the first one the server lists)")
	f.StringVar(&apiKey, "api-key", "", "API key (default $OPENAI_API_KEY); never printed")
	f.StringVar(&system, "system", "", "system message (chat mode)")
	f.BoolVar(&stream, "stream", false, "print one JSON line per event instead of the final JSON")
	f.DurationVar(&connectTimeout, "connect-timeout", 10*time.Second, "bound on connecting to the server")
	f.DurationVar(&firstTokenTimeout, "first-token-timeout", 120*time.Second, "bound on the wait for the first token")
	f.DurationVar(&idleTimeout, "idle-timeout", 60*time.Second, "bound on the wait between tokens (keep-alives do not count)")
	pf := params.RegisterFlags(f, true)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		var problems []string
		api, err := params.ParseAPI(mode)
		if err != nil {
			problems = append(problems, "--mode: "+err.Error())
		}
		p, o, err := pf.Resolve()
		var fe *params.FlagError
		if errors.As(err, &fe) {
			problems = append(problems, fe.Problems...)
		} else if err != nil {
			return err
		}
		if endpoint == "" {
			endpoint = os.Getenv("OPENAI_BASE_URL")
		}
		if endpoint == "" {
			problems = append(problems, "--endpoint: required (or set OPENAI_BASE_URL), e.g. http://localhost:8000/v1")
		}
		if apiKey == "" {
			apiKey = os.Getenv("OPENAI_API_KEY")
		}
		prompt := args[0]
		if prompt == "-" {
			b, err := io.ReadAll(cmd.InOrStdin())
			if err != nil {
				return fmt.Errorf("reading the prompt from stdin: %w", err)
			}
			prompt = strings.TrimSuffix(string(b), "\n")
		}
		if len(problems) > 0 {
			return &params.FlagError{Problems: problems}
		}
		client, err := openai.New(openai.Config{
			BaseURL: endpoint, Model: model, APIKey: apiKey,
			ConnectTimeout: connectTimeout, FirstTokenTimeout: firstTokenTimeout, IdleTimeout: idleTimeout,
		})
		if err != nil {
			return &usageError{err}
		}
		req := backend.Request{API: api, Model: model, Prompt: prompt, Params: p, Options: o}
		if api == params.Chat {
			if system != "" {
				req.Messages = append(req.Messages, backend.Message{Role: "system", Content: system})
			}
			req.Messages = append(req.Messages, backend.Message{Role: "user", Content: prompt})
		}
		_, err = backend.RunSample(cmd.Context(), client, req, stream, cmd.OutOrStdout())
		return err
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
