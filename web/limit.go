package web

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// limiter counts events per client address in fixed windows: at most max
// in each window of length per. It keeps at most maxClients addresses;
// past that it starts a fresh table (the cost of an attacker spraying
// addresses is then only their own rate).
type limiter struct {
	max int
	per time.Duration

	mu sync.Mutex
	m  map[string]*window
}

type window struct {
	start time.Time
	n     int
}

const maxClients = 100_000

func newLimiter(max int, per time.Duration) *limiter {
	return &limiter{max: max, per: per, m: map[string]*window{}}
}

// allow counts one event of key and reports whether it is within the
// limit, and if not, how long until the window ends.
func (l *limiter) allow(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.m[key]
	if w == nil || now.Sub(w.start) >= l.per {
		if w == nil && len(l.m) >= maxClients {
			l.m = map[string]*window{}
		}
		w = &window{start: now}
		l.m[key] = w
	}
	if w.n >= l.max {
		return false, w.start.Add(l.per).Sub(now)
	}
	w.n++
	return true, 0
}

// client is the address a request came from, as the limits count it: an
// IPv4 address, or an IPv6 address's /64 (what one subscriber is usually
// given). When the connecting address is a trusted proxy, the client is
// the last address X-Forwarded-For names that is not one: the addresses
// before it, any client could have written.
func (s *Site) client(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	if s.trusted(a) {
		hops := r.Header.Values("X-Forwarded-For")
		var all []string
		for _, h := range hops {
			all = append(all, strings.Split(h, ",")...)
		}
		for i := len(all) - 1; i >= 0; i-- {
			f, err := netip.ParseAddr(strings.TrimSpace(all[i]))
			if err != nil {
				break // a malformed hop: trust no further
			}
			a = f
			if !s.trusted(f) {
				break
			}
		}
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}

func (s *Site) trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range s.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
