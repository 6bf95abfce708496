package serve

import (
	"encoding/binary"

	"charm.land/ssh"
	gossh "golang.org/x/crypto/ssh"
)

// Window sizes a client may claim are clamped to these before anything reads
// them: a screen buffer is allocated per cell.
const (
	maxCols = 500
	maxRows = 200
)

// maxEnv bounds the environment a client may send (each "env" request grows a
// list kept for the session's life).
const maxEnv = 32

// maxTerm bounds TERM's length; it is logged and handed to Bubble Tea.
const maxTerm = 64

func clampDim(v uint32, hi int) uint32 {
	return uint32(min(max(int64(v), 1), int64(hi)))
}

// sessionChannel serves the "session" channel: one per connection (each would
// be a program of its own), with its requests passed through filterRequests.
func (s *Server) sessionChannel(srv *ssh.Server, conn *gossh.ServerConn, newChan gossh.NewChannel, ctx ssh.Context) {
	st := stateOf(ctx)
	if st == nil || !st.sessionOpen.CompareAndSwap(false, true) {
		_ = newChan.Reject(gossh.ResourceShortage, "twinkle: one session per connection")
		s.log.Info("refused", "what", "second session on a connection", "conn", st.id)
		return
	}
	defer st.sessionOpen.Store(false)
	ssh.DefaultSessionHandler(srv, conn, &filteredChannel{NewChannel: newChan, st: st}, ctx)
}

// refuseChannel answers every other channel type (port forwarding, agent, …).
func (s *Server) refuseChannel(_ *ssh.Server, _ *gossh.ServerConn, newChan gossh.NewChannel, ctx ssh.Context) {
	what := newChan.ChannelType()
	_ = newChan.Reject(gossh.Prohibited, "twinkle serves interactive sessions only; "+what+" is off")
	id := ""
	if st := stateOf(ctx); st != nil {
		id = st.id
	}
	s.log.Info("refused", "what", "channel", "type", what, "conn", id)
}

// refuseRequest answers global requests: remote forwarding is refused and
// logged; keep-alives and the rest are answered "no" quietly.
func (s *Server) refuseRequest(ctx ssh.Context, _ *ssh.Server, req *gossh.Request) (bool, []byte) {
	switch req.Type {
	case "tcpip-forward", "streamlocal-forward@openssh.com":
		id := ""
		if st := stateOf(ctx); st != nil {
			id = st.id
		}
		s.log.Info("refused", "what", "port forwarding", "type", req.Type, "conn", id)
	}
	return false, nil
}

// filteredChannel hands the session handler a request stream with window
// sizes clamped, TERM bounded, the environment capped, and agent and X11
// forwarding refused. The raw channel is kept for the session's output.
type filteredChannel struct {
	gossh.NewChannel
	st *connState
}

func (f *filteredChannel) Accept() (gossh.Channel, <-chan *gossh.Request, error) {
	ch, reqs, err := f.NewChannel.Accept()
	if err != nil {
		return ch, reqs, err
	}
	f.st.setChannel(ch)
	out := make(chan *gossh.Request)
	go filterRequests(reqs, out)
	return ch, out, nil
}

func filterRequests(in <-chan *gossh.Request, out chan<- *gossh.Request) {
	defer close(out)
	env := 0
	for req := range in {
		switch req.Type {
		case "env":
			if env++; env > maxEnv {
				_ = req.Reply(false, nil)
				continue
			}
		case "pty-req":
			p, ok := clampPtyReq(req.Payload)
			if !ok {
				_ = req.Reply(false, nil)
				continue
			}
			req.Payload = p
		case "window-change":
			if len(req.Payload) < 8 {
				_ = req.Reply(false, nil)
				continue
			}
			clampWindow(req.Payload)
		case "auth-agent-req@openssh.com", "x11-req":
			_ = req.Reply(false, nil)
			continue
		}
		out <- req
	}
}

// clampWindow rewrites the columns and rows that start p in place.
func clampWindow(p []byte) {
	binary.BigEndian.PutUint32(p[0:], clampDim(binary.BigEndian.Uint32(p[0:]), maxCols))
	binary.BigEndian.PutUint32(p[4:], clampDim(binary.BigEndian.Uint32(p[4:]), maxRows))
}

// clampPtyReq bounds a pty-req payload: TERM (string), columns, rows, pixel
// sizes, modes.
func clampPtyReq(p []byte) ([]byte, bool) {
	if len(p) < 4 {
		return nil, false
	}
	n := binary.BigEndian.Uint32(p)
	if uint64(len(p)-4) < uint64(n)+16 {
		return nil, false
	}
	term, rest := p[4:4+n], p[4+n:]
	if len(term) > maxTerm {
		term = term[:maxTerm]
	}
	out := make([]byte, 0, 4+len(term)+len(rest))
	out = binary.BigEndian.AppendUint32(out, uint32(len(term)))
	out = append(out, term...)
	out = append(out, rest...)
	clampWindow(out[4+len(term):])
	return out, true
}
