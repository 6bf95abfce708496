package ui

import (
	"strings"
	"testing"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/backend/vllmtest"
	"github.com/twinkle-sh/twinkle/params"
)

// A server whose tokens split 好, 日, é, ï, 🙂 and 世界 over byte tokens (vLLM reports each
// piece as "\ufffd"): the columns show the real text with the heatmap on, the inspector is
// open on the second token of a split character, and the prompt pane shows the prompt,
// whose 好 and é are split too.
func TestGoldenSplitCharacters(t *testing.T) {
	t.Parallel()
	for _, api := range []params.API{params.Completion, params.Chat} {
		t.Run(string(api), func(t *testing.T) {
			m, _ := serverModel(t, 120, 40, func(c *Config) {
				c.Model = vllmtest.SplitModel
				c.API = api
				c.Prompt = "Say 好 and é"
				mt := 40
				c.Params.MaxTokens = &mt
			})
			m.setFocus(focusParams)
			m.Update(keyMsg("P"))
			driveUntil(t, m, m.startRun(), allDone(m))
			if len(m.prompt.heat.tokens) == 0 {
				t.Fatal("no prompt logprobs")
			}
			m.setFocus(focusSamples)
			m.Update(keyMsg("i"))
			target := -1
			toks := m.samples.cols[0].Tokens()
			for i := 1; i < len(toks) && target < 0; i++ {
				if backend.Partial(toks[i].Text) && backend.Partial(toks[i-1].Text) {
					target = i
				}
			}
			if target < 0 {
				t.Fatal("sample 1 splits no character over two tokens")
			}
			for range target {
				m.Update(keyMsg("right"))
			}
			screen := plainScreen(m)
			if strings.Contains(screen, "\ufffd") {
				t.Errorf("U+FFFD on screen, though no text has one:\n%s", screen)
			}
			for _, want := range []string{"好", "é", "token 2 of 2 of", "(part)", "Say·好 and·é"} {
				if !strings.Contains(screen, want) {
					t.Errorf("%q not on screen:\n%s", want, screen)
				}
			}
			checkGolden(t, m)
		})
	}
}
