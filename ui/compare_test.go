package ui

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/backend/openai"
	"github.com/twinkle-sh/twinkle/backend/vllmtest"
)

// compareModel is serverModel with two more targets beside its server: a
// second test server and one that answers every request with a 503.
func compareModel(t *testing.T, w, h int) (*Model, [2]*vllmtest.Server) {
	t.Helper()
	var second, down *vllmtest.Server
	m, srv := serverModel(t, w, h, func(c *Config) {
		second, down = vllmtest.New(), vllmtest.New()
		t.Cleanup(second.Close)
		t.Cleanup(down.Close)
		f := vllmtest.NoFault()
		f.Status, f.Message, f.Type = 503, "the model is loading", "ServiceUnavailableError"
		down.SetDefault(vllmtest.Script{Fault: &f})
		targets := []backend.Target{{Name: "main", Main: true, Sampler: c.Sampler}}
		for _, x := range []struct {
			name string
			s    *vllmtest.Server
		}{{"fp8", second}, {"down", down}} {
			cl, err := openai.New(openai.Config{BaseURL: x.s.URL, MaxRetries: -1})
			if err != nil {
				t.Fatal(err)
			}
			targets = append(targets, backend.Target{Name: x.name, Model: "twinkle-test/tiny-chat", Sampler: cl})
		}
		c.Sampler = &backend.Multi{Targets: targets}
		c.Options.N = 1
	})
	return m, [2]*vllmtest.Server{srv, second}
}

func TestCompareSendsOneBodyToEveryTarget(t *testing.T) {
	t.Parallel()
	m, srvs := compareModel(t, 160, 48)
	driveUntil(t, m, m.startRun(), allDone(m))
	var bodies [][]byte
	for _, s := range srvs {
		for _, r := range s.Requests() {
			if r.Method == http.MethodPost {
				bodies = append(bodies, r.Body)
			}
		}
	}
	if len(bodies) != 2 || !bytes.Equal(bodies[0], bodies[1]) {
		t.Fatalf("bodies differ or are missing:\n%s", bodies)
	}
	if len(m.samples.cols) != 3 {
		t.Fatalf("%d columns, want one per target", len(m.samples.cols))
	}
	for i, want := range []string{"main: twinkle-test/tiny-chat", "fp8: twinkle-test/tiny-chat", "down: twinkle-test/tiny-chat"} {
		c := m.samples.cols[i]
		if c.Label != want {
			t.Errorf("column %d headed %q, want %q", i, c.Label, want)
		}
		if failed := c.Reason == backend.StopError; failed != (i == 2) {
			t.Errorf("column %d: %s %v", i, c.Reason, c.Err)
		}
	}
	if s := plainScreen(m); !strings.Contains(s, "fp8: twinkle-test/tiny-chat") || !strings.Contains(s, "model is loading") {
		t.Errorf("the targets or the failure are not shown:\n%s", s)
	}
}

func TestGoldenCompare(t *testing.T) {
	t.Parallel()
	m, _ := compareModel(t, 120, 40)
	driveUntil(t, m, m.startRun(), allDone(m))
	checkGolden(t, m)
}
