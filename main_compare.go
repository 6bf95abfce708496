package main

import (
	"context"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/params"
	"github.com/twinkle-sh/twinkle/ui"
)

// The playground's endpoints side by side: --compare NAME=URL[,MODEL] on the root
// command, read as `twinkle sample --compare` reads it, sends every run to the main
// target and each compare target at once. Targets come from the flags only; each
// key from $TWINKLE_API_KEY_<NAME>, never shown.

func registerCompare(fs *pflag.FlagSet, dst *[]string) {
	fs.StringArrayVar(dst, "compare", nil, "also run every request on NAME=URL[,MODEL], side by side (repeatable, 2 to 4 targets with the main one; API key from $TWINKLE_API_KEY_NAME); URL local is the built-in model")
}

// compareProblems checks the --compare flags.
func compareProblems(compare []string) ([]compareTarget, []string) {
	if len(compare) == 0 {
		return nil, nil
	}
	x := &sampleExtra{compare: compare}
	problems := x.parseTargets()
	return x.targets, problems
}

// compareBackend wraps the main backend and the compare targets in one sampler.
func compareBackend(ctx context.Context, e env, conn connFlags, cfg *ui.Config, main chosenBackend, targets []compareTarget) error {
	if len(targets) == 0 {
		return nil
	}
	m := &backend.Multi{Targets: []backend.Target{{Name: "main", Endpoint: shownEndpoint(main.endpoint), Main: true, Sampler: main.sampler}}}
	for _, t := range targets {
		s, model, err := openTarget(ctx, e, conn, t)
		if err != nil {
			return fmt.Errorf("--compare %s: %w", t.name, err)
		}
		m.Targets = append(m.Targets, backend.Target{Name: t.name, Endpoint: shownEndpoint(t.endpoint), Model: model, Sampler: s})
		if t.endpoint == localEndpoint && cfg.API == "" {
			// Every target gets the same body, and the built-in model takes completions.
			cfg.API = params.Completion
		}
	}
	cfg.Sampler = m
	return nil
}
