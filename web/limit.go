package web

import (
	"net"
	"net/http"
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

// refund gives back one event of key counted by allow.
func (l *limiter) refund(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if w := l.m[key]; w != nil && w.n > 0 {
		w.n--
	}
}

// blocked reports whether key is over its limit, without counting.
func (l *limiter) blocked(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.m[key]
	if w == nil || now.Sub(w.start) >= l.per || w.n < l.max {
		return false, 0
	}
	return true, w.start.Add(l.per).Sub(now)
}

// client is the address a request came from, as the limits count it: an
// IPv4 address, or an IPv6 address's /64 (what one subscriber is usually
// given). Behind a reverse proxy every request comes from the proxy, so
// all its clients share one limit: run the public pages where the
// connecting address is the client's.
func client(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	if ip == nil || ip.To4() != nil {
		return host
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}
