package serve

import (
	"runtime/debug"
	"sync/atomic"

	tea "charm.land/bubbletea/v2"
)

// guard runs a session's model so that a panic in it ends that session only:
// Init, Update, View and every command the model returns (a batch's commands
// included) recover, report the panic once with its stack, and the program
// quits. Bubble Tea would catch them too, but it prints them raw on the
// server's stderr, with no session to tell them apart.
type guard struct {
	m       tea.Model
	onPanic func(where string, v any, stack []byte)
	dead    atomic.Bool
}

// panicMsg tells Update that a command panicked.
type panicMsg struct{}

func newGuard(m tea.Model, onPanic func(where string, v any, stack []byte)) *guard {
	return &guard{m: m, onPanic: onPanic}
}

func (g *guard) caught(where string) {
	if r := recover(); r != nil {
		if g.dead.CompareAndSwap(false, true) {
			g.onPanic(where, r, debug.Stack())
		}
	}
}

func (g *guard) Init() (cmd tea.Cmd) {
	defer g.caught("init")
	return g.wrap(g.m.Init())
}

func (g *guard) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if _, ok := msg.(panicMsg); ok || g.dead.Load() {
		return g, tea.Quit
	}
	var cmd tea.Cmd
	func() {
		defer g.caught("update")
		g.m, cmd = g.m.Update(msg)
	}()
	if g.dead.Load() {
		return g, tea.Quit
	}
	return g, g.wrap(cmd)
}

func (g *guard) View() (v tea.View) {
	if g.dead.Load() {
		return tea.View{AltScreen: true, Content: "twinkle hit an internal error; this session is closing."}
	}
	defer func() {
		if r := recover(); r != nil {
			if g.dead.CompareAndSwap(false, true) {
				g.onPanic("view", r, debug.Stack())
			}
			v = tea.View{AltScreen: true, Content: "twinkle hit an internal error; this session is closing."}
		}
	}()
	return g.m.View()
}

// wrap makes cmd recover; a batch's commands are wrapped as they come out.
func (g *guard) wrap(cmd tea.Cmd) tea.Cmd {
	if cmd == nil {
		return nil
	}
	return func() (msg tea.Msg) {
		defer func() {
			if r := recover(); r != nil {
				if g.dead.CompareAndSwap(false, true) {
					g.onPanic("command", r, debug.Stack())
				}
				msg = panicMsg{}
			}
		}()
		msg = cmd()
		if b, ok := msg.(tea.BatchMsg); ok {
			wrapped := make(tea.BatchMsg, len(b))
			for i, c := range b {
				wrapped[i] = g.wrap(c)
			}
			return wrapped
		}
		return msg
	}
}

// release drops the model once its program has returned. Bubble Tea's input
// reader can be left blocked handing over a last key that arrived as the
// program stopped (an escape waiting for its timeout when the viewer
// disconnects); that goroutine keeps the program reachable, and this keeps
// the session's transcript from staying reachable with it.
func (g *guard) release() {
	g.dead.Store(true)
	g.m = nil
}
