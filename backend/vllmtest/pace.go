package vllmtest

import (
	"context"
	"time"
)

// Pace shapes the generated streams of a server for load tests (the PTY benchmark): a
// fixed token rate per sample, and samples that all run to max_tokens.
type Pace struct {
	// PerSample is the tokens per second each sample streams at; 0 sends as fast as the
	// client reads. Samples are interleaved, so n samples send n times this many chunks.
	PerSample float64
	// NoEOS makes every generated sample run to max_tokens and end with "length": no EOS,
	// no stop string, no stop token, so every run streams exactly n × max_tokens tokens.
	// Sample i keeps the tokens it would have had (sample 0 of seed+i).
	NoEOS bool
}

// SetPace sets how generated streams are paced (scripted Samples are paced too).
func (s *Server) SetPace(p Pace) {
	s.mu.Lock()
	s.pace = p
	s.mu.Unlock()
}

func (s *Server) currentPace() Pace {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pace
}

// generate is Generate under the server's pace: with NoEOS each sample is drawn alone as
// sample 0 of seed+i, which always runs to max_tokens.
func (p Pace) generate(n int, seed *int64, maxTokens *int, stop []string, stopIDs []int) []Sample {
	if !p.NoEOS {
		return Generate(n, seed, maxTokens, stop, stopIDs)
	}
	var base int64
	if seed != nil {
		base = *seed
	}
	out := make([]Sample, n)
	for i := range out {
		si := base + int64(i)
		out[i] = Generate(1, &si, maxTokens, nil, nil)[0]
	}
	return out
}

// pacer holds a stream to its rate against a fixed start, so a late chunk is followed by
// early ones (no drift) and sleeps shorter than a millisecond are skipped.
type pacer struct {
	start time.Time
	n     int           // samples interleaved
	round time.Duration // one chunk of every sample
}

// newPacer paces chunks of per tokens each, interleaved over n samples, at rate tokens
// per second per sample; nil when there is no rate.
func (p Pace) newPacer(n, per int) *pacer {
	if p.PerSample <= 0 || n <= 0 {
		return nil
	}
	// Chunk k (counting token chunks of every sample) belongs to round k/n, which ends
	// with each sample per tokens further along.
	round := time.Duration(float64(per) / p.PerSample * float64(time.Second))
	return &pacer{start: time.Now(), n: n, round: round}
}

// wait blocks until token chunk k is due; false when ctx ended first.
func (pc *pacer) wait(ctx context.Context, k int) bool {
	if pc == nil {
		return true
	}
	d := time.Until(pc.start.Add(time.Duration(k/pc.n) * pc.round))
	if d < time.Millisecond {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
