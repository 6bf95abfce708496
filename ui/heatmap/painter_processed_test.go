package heatmap

import (
	"math"
	"testing"

	"github.com/charmbracelet/colorprofile"

	"github.com/twinkle-sh/twinkle/backend"
)

// A processed painter colours by the probability the token was drawn with, the same
// through Render and through a Class; a token without processed values (a prompt token)
// has the unknown look, and Raw colours it by its raw value.
func TestPainterByProcessed(t *testing.T) {
	t.Parallel()
	st := styles("dark", true)
	raw := NewPainter(st, Probability, colorprofile.TrueColor)
	proc := NewPainterBy(st, Probability, colorprofile.TrueColor, true)
	if proc.Key() == raw.Key() || !proc.ByProcessed() || raw.ByProcessed() {
		t.Fatal("a processed painter must have a key of its own")
	}
	tok := &backend.Token{Text: "x", Logprob: backend.Logprob(math.Log(.3)),
		Processed: &backend.Processed{Logprob: backend.Logprob(math.Log(.95))}}
	rb, _ := Probability.Bucket(tok)
	pb, _ := Probability.Bucket(&backend.Token{Logprob: tok.Processed.Logprob})
	if rb == pb {
		t.Fatal("the case does not tell the two apart")
	}
	want := raw.Paint(pb, true, 0, "x")
	if got := proc.Render(tok, 0, "x"); got != want {
		t.Fatalf("Render %q, want the processed bucket's %q", got, want)
	}
	if got := proc.RenderClass(Classify(tok), 0, "x"); got != want {
		t.Fatalf("RenderClass %q, want %q", got, want)
	}
	prompt := &backend.Token{Text: "x", Logprob: tok.Logprob}
	if got := proc.Render(prompt, 0, "x"); got != raw.Paint(0, false, 0, "x") {
		t.Fatalf("no processed value: %q, want the unknown look", got)
	}
	if got := proc.Raw().Render(prompt, 0, "x"); got != raw.Render(prompt, 0, "x") {
		t.Fatalf("Raw: %q", got)
	}
	// Rank and entropy are not probabilities of the draw: unchanged.
	rk := NewPainterBy(st, Rank, colorprofile.TrueColor, true)
	if rk.Render(tok, 0, "x") != NewPainter(st, Rank, colorprofile.TrueColor).Render(tok, 0, "x") {
		t.Fatal("rank changed with processed values")
	}
}
