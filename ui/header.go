package ui

import (
	"slices"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/twinkle-sh/twinkle/params"
	"github.com/twinkle-sh/twinkle/themes"
	"github.com/twinkle-sh/twinkle/ui/sanitize"
)

// headerInputs is everything the header line is drawn from: it is redrawn
// only when one changes, not every frame.
type headerInputs struct {
	endpoint, model, connErr, loadedPath, readOnly string
	api                                            params.API
	conn                                           connState
	loaded                                         bool
	w                                              int
	styles                                         *themes.Styles
}

// header is the top line: endpoint, model, mode, connection and the session
// shown. It is drawn every frame and changes rarely, so it is redrawn only
// when what it shows changes.
type header struct {
	key  headerInputs
	line string
}

func (h *header) view(in headerInputs) string {
	if in != h.key || h.line == "" {
		h.key, h.line = in, in.draw()
	}
	return h.line
}

func (in headerInputs) draw() string {
	st, w := &in.styles.App, in.w
	endpoint := in.endpoint
	if endpoint == "" {
		endpoint = "no endpoint"
	}
	model := in.model
	if model == "" {
		model = "(first listed)"
	}
	var conn string
	switch in.conn {
	case connOK:
		conn = st.ConnOK.Render("● connected")
	case connFailed:
		conn = st.ConnError.Render("○ " + ansi.Truncate("offline: "+in.connErr, max(10, w/3), "…"))
	case connOffline:
		conn = st.HeaderKey.Render("○ no server")
	default:
		conn = st.HeaderKey.Render("◌ connecting")
	}
	// Items in screen order with their rank: when the line is too long the
	// highest rank goes first, whole, so nothing is cut mid-word.
	type item struct {
		text string
		rank int
	}
	items := []item{
		{st.HeaderTitle.Render(" twinkle"), 0},
		{st.HeaderKey.Render(sanitize.Line(endpoint)), 5},
		{st.HeaderKey.Render("model ") + st.HeaderValue.Render(sanitize.Line(model)), 2},
		{st.Mode.Render(string(in.api)), 4},
		{conn, 3},
	}
	if in.loaded {
		items = append(items, item{st.HeaderKey.Render("session ") + st.HeaderValue.Render(sanitize.Line(in.loadedPath)), 6})
		if ro := in.readOnly; ro != "" {
			items = append(items, item{st.ConnError.Render(sanitize.Line(ro)), 1})
		}
	}
	sep := st.HeaderKey.Render("  │  ")
	sepW := ansi.StringWidth(sep)
	width := func() int {
		n := sepW * (len(items) - 1)
		for _, it := range items {
			n += ansi.StringWidth(it.text)
		}
		return n
	}
	for len(items) > 2 && width() > w {
		drop := 0
		for i, it := range items {
			if it.rank > items[drop].rank {
				drop = i
			}
		}
		items = slices.Delete(items, drop, drop+1)
	}
	parts := make([]string, len(items))
	for i, it := range items {
		parts[i] = it.text
	}
	// A model name longer than the screen is the one thing still cut.
	line := strings.Join(parts, sep)
	return padTo(ansi.Truncate(line, w, "…"), w)
}
