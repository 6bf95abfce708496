package localserver

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/twinkle-sh/twinkle/backend/vllmcheck"
)

// TestListenAndServe serves on a real port, answers one request, and shuts
// down cleanly when the context ends.
func TestListenAndServe(t *testing.T) {
	defer goleak.VerifyNone(t)
	m := builtin(t)
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- ListenAndServe(ctx, "127.0.0.1:0", m, Options{}, func(a net.Addr) { addrc <- a })
	}()
	var addr net.Addr
	select {
	case addr = <-addrc:
	case err := <-errc:
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{}}
	resp, err := client.Post("http://"+addr.String()+"/v1/completions", "application/json", strings.NewReader(`{"prompt":"abc","max_tokens":2}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	client.CloseIdleConnections()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"text_completion"`) {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	// Over the network as in-process: chat gets vLLM's answer for a model with no
	// chat template.
	resp, err = client.Post("http://"+addr.String()+"/v1/chat/completions", "application/json", strings.NewReader(`{"messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	client.CloseIdleConnections()
	if resp.StatusCode != 400 || !strings.Contains(string(b), vllmcheck.NoChatTemplate) {
		t.Fatalf("chat: %d %s", resp.StatusCode, b)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}
