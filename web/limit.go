package web

import (
	"context"
	"crypto/sha256"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/ombud/ombud"
)

// limiter counts events per client address in fixed windows: at most max
// in each window of length per. The windows are kept in the store, which
// every gateway shares, under a keyed pseudonym of the limit's name and
// the address (Site.Pseudonym), so the store holds no address, nor a hash
// of one that a guess of every IPv4 address would reverse.
type limiter struct {
	name   string
	max    int
	per    time.Duration
	store  ombud.SessionStore
	logger *slog.Logger
	// pseudonym keys the windows; nil (a site built without the linkage
	// key, in tests) falls back to an unkeyed SHA-256.
	pseudonym func(ns, id string) string
}

// allow counts one event of key and reports whether it is within the
// limit, and if not, how long until the window ends. When the store
// cannot count, it refuses: a limit that cannot be checked holds.
func (l *limiter) allow(ctx context.Context, key string, now time.Time) (bool, time.Duration) {
	var k []byte
	if l.pseudonym != nil {
		k = []byte(l.pseudonym("limit/"+l.name, key))
	} else {
		h := sha256.Sum256([]byte(l.name + "\x00" + key))
		k = h[:]
	}
	wait, err := l.store.CountEvent(ctx, k, now, l.max, l.per)
	if err != nil {
		l.logger.ErrorContext(ctx, "site: a rate limit could not be counted", "limit", l.name, "err", err)
		return false, l.per
	}
	return wait == 0, wait
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
