package serve

import (
	"context"
	"net"
	"net/netip"
	"sync"
)

// connLimiter counts open connections in total and per source. A source is an
// IPv4 address or an IPv6 /64 (one host usually holds a whole /64).
type connLimiter struct {
	total, perIP int

	mu    sync.Mutex
	open  int
	byIP  map[netip.Prefix]int
	spare int // connections over a cap, kept only to tell the client why
}

// refusalSlots bounds the connections that are over a cap but still get an
// SSH handshake, to be told why they are refused; beyond it they are closed
// at once.
const refusalSlots = 16

func newConnLimiter(total, perIP int) *connLimiter {
	return &connLimiter{total: total, perIP: perIP, byIP: map[netip.Prefix]int{}}
}

// sourceOf is the unit the per-IP cap counts.
func sourceOf(addr net.Addr) netip.Prefix {
	ap, err := netip.ParseAddrPort(addr.String())
	if err != nil {
		return netip.Prefix{}
	}
	ip := ap.Addr().Unmap()
	if ip.Is4() {
		return netip.PrefixFrom(ip, 32)
	}
	p, _ := ip.Prefix(64)
	return p
}

// admission is what acquire decided.
type admission int

const (
	admitted admission = iota
	// overCap: the connection gets a handshake only to be told why it is refused.
	overCap
	// closeNow: too many already waiting to be told; close without a word.
	closeNow
)

// acquire counts a new connection from src. The release function must be
// called exactly once when the connection closes (nil for closeNow). reason
// names the cap that was hit.
func (l *connLimiter) acquire(src netip.Prefix) (a admission, reason string, release func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.total > 0 && l.open >= l.total:
		reason = "the server is full"
	case l.perIP > 0 && l.byIP[src] >= l.perIP:
		reason = "too many connections from your address"
	}
	if reason == "" {
		l.open++
		l.byIP[src]++
		return admitted, "", func() {
			l.mu.Lock()
			l.open--
			if l.byIP[src]--; l.byIP[src] <= 0 {
				delete(l.byIP, src)
			}
			l.mu.Unlock()
		}
	}
	if l.spare >= refusalSlots {
		return closeNow, reason, nil
	}
	l.spare++
	return overCap, reason, func() {
		l.mu.Lock()
		l.spare--
		l.mu.Unlock()
	}
}

// runQueue bounds the runs in flight to the backend across all sessions.
// Waiting runs are served first come, first served, and each is told its
// place in line whenever it changes.
type runQueue struct {
	slots int

	mu      sync.Mutex
	active  int
	waiting []*queued
}

type queued struct {
	granted chan struct{}
	// place receives the 1-based position in line; only the latest matters.
	place chan int
}

func newRunQueue(slots int) *runQueue { return &runQueue{slots: max(1, slots)} }

// acquire waits for a slot. onPlace is called (on the caller's goroutine) with
// the position in line each time it changes while waiting; it is not called
// when a slot is free at once. The returned release frees the slot.
func (q *runQueue) acquire(ctx context.Context, onPlace func(int)) (release func(), err error) {
	q.mu.Lock()
	if q.active < q.slots && len(q.waiting) == 0 {
		q.active++
		q.mu.Unlock()
		return q.releaseOnce(), nil
	}
	w := &queued{granted: make(chan struct{}), place: make(chan int, 1)}
	q.waiting = append(q.waiting, w)
	w.place <- len(q.waiting)
	q.mu.Unlock()
	for {
		select {
		case <-w.granted:
			return q.releaseOnce(), nil
		case p := <-w.place:
			if onPlace != nil {
				onPlace(p)
			}
		case <-ctx.Done():
			q.mu.Lock()
			select {
			case <-w.granted:
				// Granted while giving up: hand the slot on.
				q.mu.Unlock()
				q.releaseOnce()()
				return nil, ctx.Err()
			default:
			}
			for i, o := range q.waiting {
				if o == w {
					q.waiting = append(q.waiting[:i], q.waiting[i+1:]...)
					break
				}
			}
			q.tellPlacesLocked()
			q.mu.Unlock()
			return nil, ctx.Err()
		}
	}
}

func (q *runQueue) releaseOnce() func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			q.mu.Lock()
			q.active--
			if len(q.waiting) > 0 && q.active < q.slots {
				w := q.waiting[0]
				q.waiting = q.waiting[1:]
				q.active++
				close(w.granted)
				q.tellPlacesLocked()
			}
			q.mu.Unlock()
		})
	}
}

// tellPlacesLocked sends every waiting run its position, replacing an unread one.
func (q *runQueue) tellPlacesLocked() {
	for i, w := range q.waiting {
		select {
		case <-w.place:
		default:
		}
		w.place <- i + 1
	}
}

// state is how many runs are in flight and waiting (for logs and tests).
func (q *runQueue) state() (active, waiting int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.active, len(q.waiting)
}
