// Command twinkle is a terminal playground for LLM sampling: a slider for every
// SamplingParams field, several samples streamed side by side from a vLLM
// OpenAI-compatible server (or the built-in model), per-token logprobs and stop reasons.
//
// main.go only wires flags to the packages that do the work: params/, backend/, ui/.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"charm.land/fang/v2"
	"github.com/spf13/cobra"

	"github.com/twinkle-sh/twinkle/params"
	"github.com/twinkle-sh/twinkle/ui/sanitize"
)

// exitCode is what a command's error means for the shell: 2 for bad input (flags,
// arguments), 1 for everything else.
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

func main() {
	root := newRoot(os.Stdin, os.Stdout, os.Stderr)
	if err := fang.Execute(context.Background(), root,
		fang.WithVersion(version()),
		fang.WithErrorHandler(errorHandler),
		fang.WithNotifySignal(os.Interrupt),
	); err != nil {
		os.Exit(exitCode(err))
	}
}

func version() string { return "0.1.0-dev" }

// errorHandler prints errors plainly, one problem a line. Error text can quote a server
// or a model, so it is made terminal-safe first.
func errorHandler(w io.Writer, _ fang.Styles, err error) {
	msg := strings.TrimRight(sanitize.Text(err.Error()), "\n")
	fmt.Fprintln(w, "twinkle: "+strings.ReplaceAll(msg, "\n", "\ntwinkle: "))
	if exitCode(err) == 2 {
		fmt.Fprintln(w, "Try --help for usage.")
	}
}

func newRoot(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "twinkle",
		Short: "A terminal playground for LLM sampling",
		Long: "twinkle tunes sampling parameters with a slider for each, streams several samples side by side\n" +
			"from a vLLM OpenAI-compatible server or its built-in model, and colours every token by its probability.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })
	root.AddCommand(newExportCmd())
	root.AddCommand(newSampleCmd(), newTestServerCmd())
	return root
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
	cmd.Flags().StringVar(&endpoint, "endpoint", "", "OpenAI base URL for curl (default $OPENAI_BASE_URL or http://localhost:8000/v1)")
	cmd.Flags().StringVar(&prompt, "prompt", "", "prompt text to put in the request (openai and curl formats)")
	cmd.Flags().StringVar(&system, "system", "", "system message (chat mode)")
	pf := params.RegisterFlags(cmd.Flags(), true)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		var problems []string
		if format == "" {
			problems = append(problems, "--format: required, one of "+strings.Join(params.Formats(), ", "))
		} else if !contains(params.Formats(), format) {
			problems = append(problems, fmt.Sprintf("--format: %q is not one of %s", format, strings.Join(params.Formats(), ", ")))
		}
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

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
