package localserver

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/twinkle-sh/twinkle/backend/local"
)

// ListenAndServe serves m on addr (e.g. "127.0.0.1:8000") until ctx ends,
// for `twinkle serve-model --listen ADDR`. ready, if set, is called with
// the bound address once the listener is open.
func ListenAndServe(ctx context.Context, addr string, m *local.Model, opts Options, ready func(net.Addr)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           NewServer(m, opts),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	if ready != nil {
		ready(ln.Addr())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(sctx)
	if e := <-errc; !errors.Is(e, http.ErrServerClosed) && err == nil {
		err = e
	}
	return err
}

// ServeModel loads the built-in model and serves it on addr until ctx
// ends: the whole of `twinkle serve-model --listen ADDR`.
func ServeModel(ctx context.Context, addr string, opts Options, ready func(net.Addr)) error {
	mode, err := local.ParseLogprobsMode(string(opts.LogprobsMode))
	if err != nil {
		return err
	}
	opts.LogprobsMode = mode
	m, err := local.Load()
	if err != nil {
		return err
	}
	return ListenAndServe(ctx, addr, m, opts, ready)
}
