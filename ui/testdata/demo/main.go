// Command demo runs the playground against an in-process vllmtest server, for
// looking at the screen by hand (tmux) before main.go wires ui in:
//
//	go run ./ui/testdata/demo
package main

import (
	"fmt"
	"os"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/twinkle-sh/twinkle/backend/openai"
	"github.com/twinkle-sh/twinkle/backend/vllmtest"
	"github.com/twinkle-sh/twinkle/params"
	"github.com/twinkle-sh/twinkle/ui"
)

func main() {
	srv := vllmtest.New()
	defer srv.Close()
	// Slow bytes make the stream take a few seconds, so streaming can be seen.
	f := vllmtest.NoFault()
	f.SlowBytes = 8 * time.Microsecond
	srv.SetDefault(vllmtest.Script{TokensPerChunk: 1, Fault: &f})
	cl, err := openai.New(openai.Config{BaseURL: srv.URL})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	p := params.Default()
	mt := 150
	p.MaxTokens = &mt
	m := ui.New(ui.Config{Sampler: cl, Endpoint: srv.URL, API: params.Completion, Params: p,
		Options: params.Options{N: 4}, IsDark: true, Prompt: "Once upon a time"})
	if _, err := tea.NewProgram(m).Run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
