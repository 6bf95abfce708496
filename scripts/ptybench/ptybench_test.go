//go:build unix

package ptybench

import (
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	binFlag  = flag.String("ptybench.bin", "", "the twinkle binary to measure (default: build this checkout)")
	cpusFlag = flag.String("ptybench.cpus", "", "pin the program to these CPUs with taskset -c (e.g. 0,1)")
	fullFlag = flag.Bool("ptybench.full", os.Getenv("TWINKLE_PTYBENCH") == "full", "run the whole matrix (also TWINKLE_PTYBENCH=full), not the short CI cases")
	rawFlag  = flag.String("ptybench.raw", "", "write each case's output in the window to files in this folder")
)

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// binary is -ptybench.bin, or this checkout built once into a temporary folder.
func binary(tb testing.TB) string {
	tb.Helper()
	if *binFlag != "" {
		return *binFlag
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ptybench-bin")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "twinkle")
		cmd := exec.Command("go", "build", "-o", builtBin, "github.com/twinkle-sh/twinkle")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = err
			tb.Logf("%s", out)
		}
	})
	if buildErr != nil {
		tb.Fatalf("building twinkle: %v", buildErr)
	}
	return builtBin
}

// cases is the matrix: the short one CI runs, or the full one (4 and 16 samples, 500 and
// 2,000 tokens, 256 colours and truecolor, about 30 and 1,000 tokens/s per sample).
func cases() []Case {
	if !*fullFlag {
		return []Case{
			{Samples: 4, Tokens: 300, Rate: 1000},
			{Samples: 4, Tokens: 300, Rate: 1000, TrueColor: true},
		}
	}
	var out []Case
	for _, rate := range []float64{1000, 30} {
		for _, n := range []int{4, 16} {
			for _, tok := range []int{500, 2000} {
				for _, tc := range []bool{false, true} {
					out = append(out, Case{Samples: n, Tokens: tok, Rate: rate, TrueColor: tc})
				}
			}
		}
	}
	return out
}

func options(tb testing.TB, name string) (Options, func()) {
	o := Options{Binary: binary(tb), CPUs: *cpusFlag}
	if *rawFlag == "" {
		return o, func() {}
	}
	if err := os.MkdirAll(*rawFlag, 0o755); err != nil {
		tb.Fatal(err)
	}
	f, err := os.Create(filepath.Join(*rawFlag, strings.ReplaceAll(name, "/", "_")+".raw"))
	if err != nil {
		tb.Fatal(err)
	}
	o.Raw = f
	return o, func() { f.Close() }
}

// BenchmarkPTY reports, per streamed token, the bytes the program wrote (B/tok) and the
// CPU it spent in the window (cpu-ms/tok) and over its whole life (cpu-total-ms/tok,
// startup included), with the bytes split by kind, the runs of letters drawn (words/tok:
// about how many times each token was drawn), the frames per second and the wall time
// over the stream's own duration (1: it kept up). One run per case is enough
// (-benchtime 1x); ns/op is not meaningful and reads 0.
//
//	go test ./scripts/ptybench -run '^$' -bench PTY -benchtime 1x                  # short
//	go test ./scripts/ptybench -run '^$' -bench PTY -benchtime 1x -ptybench.full   # matrix
func BenchmarkPTY(b *testing.B) {
	if testing.Short() {
		b.Skip("runs a binary in a PTY")
	}
	for _, c := range cases() {
		b.Run(c.Name(), func(b *testing.B) {
			o, done := options(b, c.Name())
			defer done()
			var sum Result
			for range b.N {
				r, err := Run(context.Background(), c, o)
				if err != nil {
					b.Fatal(err)
				}
				sum.Tokens += r.Tokens
				sum.Bytes += r.Bytes
				sum.CPU += r.CPU
				sum.Wall += r.Wall
				sum.Stream += r.Stream
				sum.Frames += r.Frames
				sum.Total += r.Total
				sum.Kinds.add(r.Kinds)
			}
			tok := float64(sum.Tokens)
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(sum.BytesPerToken(), "B/tok")
			b.ReportMetric(sum.CPUPerToken(), "cpu-ms/tok")
			b.ReportMetric(float64(sum.Kinds.SGR)/tok, "sgr-B/tok")
			b.ReportMetric(float64(sum.Kinds.Move)/tok, "move-B/tok")
			b.ReportMetric(float64(sum.Kinds.Text)/tok, "text-B/tok")
			b.ReportMetric(float64(sum.Frames)/sum.Wall.Seconds(), "frames/s")
			b.ReportMetric(float64(sum.Kinds.Words)/tok, "words/tok")
			b.ReportMetric(float64(sum.Total)/float64(time.Millisecond)/tok, "cpu-total-ms/tok")
			if sum.Stream > 0 {
				b.ReportMetric(sum.WallRatio(), "wall/stream")
			}
		})
	}
}

func (k *Kinds) add(o Kinds) {
	k.Text += o.Text
	k.Words += o.Words
	k.SGR += o.SGR
	k.Move += o.Move
	k.Edit += o.Edit
	k.Other += o.Other
}

// The short case end to end: every sample streams to its length and shows it, and the
// bytes per token stay within twice the goal of 40 (bytes follow frames, which follow
// the machine's load, so the bound is loose; the benchmark gives the figure).
func TestPTYStream(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a binary in a PTY")
	}
	c := Case{Samples: 4, Tokens: 200, Rate: 1000}
	o, done := options(t, "test")
	defer done()
	r, err := Run(context.Background(), c, o)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(r.Screen, "length"); n < c.Samples {
		t.Errorf("%d samples show \"length\", want %d; screen:\n%s", n, c.Samples, r.Screen)
	}
	if r.Tokens != 800 || r.Bytes <= 0 || r.CPU < 0 {
		t.Errorf("result %+v", r)
	}
	t.Logf("%.1f B/tok, %.3f cpu-ms/tok, %d frames", r.BytesPerToken(), r.CPUPerToken(), r.Frames)
}

// The scanner sorts bytes by kind across reads that cut sequences in two.
func TestScannerKinds(t *testing.T) {
	out := "\x1b[?2026h\x1b[3;5H\x1b[38;5;196mab\x1b[m\r\n\x1b[K\x1b]0;t\x07x\x1b[?2026l"
	for cut := range len(out) + 1 {
		var s scanner
		var k Kinds
		frames := s.feed([]byte(out[:cut]), &k) + s.feed([]byte(out[cut:]), &k)
		want := Kinds{Text: 5, Words: 2, SGR: len64("\x1b[38;5;196m\x1b[m"), Move: len64("\x1b[3;5H"), Edit: 3, Other: len64("\x1b[?2026h\x1b]0;t\x07\x1b[?2026l")}
		if k != want || frames != 1 {
			t.Fatalf("cut at %d: %+v, %d frames; want %+v, 1", cut, k, frames, want)
		}
	}
}

func len64(s string) int64 { return int64(len(s)) }
