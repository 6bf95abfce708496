package ui

import (
	"os"
	"testing"

	"github.com/twinkle-sh/twinkle/backend"
)

func TestDumpScreen(t *testing.T) {
	if os.Getenv("TWINKLE_DUMP") == "" {
		t.Skip("set TWINKLE_DUMP=1 to print a screen")
	}
	f := &fakeSampler{script: wordsScript(
		[]string{"The quick brown fox jumps over the lazy dog. 日本語 text wraps and café combines.", "Second sample, shorter."},
		[]backend.Event{{Reason: backend.StopStop, StoppedBy: backend.StoppedBy{Kind: backend.StoppedByString, String: "###"}}, {Reason: backend.StopLength}})}
	m := newTestModel(t, f, 120, 40)
	m.prompt.SetValue("Once upon a time")
	m.panel.O.N = 4
	drive(t, m, m.startRun())
	t.Log("\n" + plainScreen(m))
}
