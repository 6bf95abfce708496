package ui

import (
	"bytes"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/backend/vllmtest"
)

func TestSplitBatch(t *testing.T) {
	got := splitBatch("Once upon a time\n---\n\n  ---  \nLong ago\nfar away\n---\n")
	if want := []string{"Once upon a time", "Long ago\nfar away"}; !slices.Equal(got, want) {
		t.Errorf("%q, want %q", got, want)
	}
}

// Three prompts as rows, two samples each as columns; the prompt the server
// refuses fails its own row only, and every prompt goes out with one seed.
func TestGoldenBatch(t *testing.T) {
	t.Parallel()
	m, srv := serverModel(t, 120, 40, func(c *Config) {
		c.Options.N = 2
		c.Prompt = "Once upon a time\n---\nBAD prompt\n---\nLong ago"
	})
	srv.FailWhen(func(body []byte) *vllmtest.Fault {
		if !bytes.Contains(body, []byte("BAD")) {
			return nil
		}
		f := vllmtest.NoFault()
		f.Status, f.Message, f.Type = 400, "this prompt is refused", "BadRequestError"
		return &f
	})
	driveUntil(t, m, press(m, "ctrl+q"), allDone(m))
	var prompts []string
	for _, r := range srv.Requests() {
		if r.Method == http.MethodPost {
			f := r.Fields()
			prompts = append(prompts, f["prompt"].(string))
			if f["seed"] != float64(2000) {
				t.Errorf("seed %v, want the shared 2000", f["seed"])
			}
		}
	}
	slices.Sort(prompts)
	if !slices.Equal(prompts, []string{"BAD prompt", "Long ago", "Once upon a time"}) {
		t.Errorf("prompts sent %q", prompts)
	}
	if len(m.samples.cols) != 6 || m.samples.grid.PerRow != 2 {
		t.Fatalf("%d columns, %d a row: want a row of 2 per prompt", len(m.samples.cols), m.samples.grid.PerRow)
	}
	for i, c := range m.samples.cols {
		if failed := c.Reason == backend.StopError; failed != (i/2 == 1) {
			t.Errorf("column %d (%s): %s", i, c.Label, c.Reason)
		}
	}
	if !strings.Contains(plainScreen(m), "prompt 2: BAD prompt") {
		t.Errorf("rows are not headed by their prompts:\n%s", plainScreen(m))
	}
	checkGolden(t, m)
}
