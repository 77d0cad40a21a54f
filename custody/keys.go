package custody

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/journal"
	"github.com/ombud/ombud/keys"
)

// Default lifetimes of intermediate keys (Config.KeyLifetime, KeyTTL).
const (
	// DefaultKeyLifetime is how long one intermediate key wraps new
	// objects before the next ingest makes another.
	DefaultKeyLifetime = 24 * time.Hour
	// DefaultKeyTTL is how long an unwrapped intermediate key stays in a
	// gateway's memory: revoking the KEK in the KMS stops every read
	// within this time.
	DefaultKeyTTL = 5 * time.Minute
)

// intermediates holds the intermediate keys this process unwrapped, each
// for at most its TTL, and which of them wraps new objects. The store is
// the source of truth: a key not held here is read from it and
// unwrapped by the KEK, once per TTL per gateway.
type intermediates struct {
	mu      sync.Mutex
	held    map[string]heldKey
	current string // the id of the key that wraps new objects here
	// flights holds, by name, a channel closed when the work under way
	// for it ends: making the wrapping key (name ""), so that ingests at
	// once make one key, or unwrapping key id, so that reads at once
	// unwrap it once.
	flights map[string]chan struct{}
}

// join, with mu held, makes the caller the one who does the work for
// name, and returns its finish; or, while another does it, returns the
// channel closed when that one finishes, after which the caller looks
// again. finish runs then (with mu held), forgets the flight and wakes
// the waiters.
func (c *intermediates) join(name string) (finish func(then func()), wait <-chan struct{}) {
	if ch, ok := c.flights[name]; ok {
		return nil, ch
	}
	if c.flights == nil {
		c.flights = map[string]chan struct{}{}
	}
	ch := make(chan struct{})
	c.flights[name] = ch
	return func(then func()) {
		c.mu.Lock()
		delete(c.flights, name)
		if then != nil {
			then()
		}
		c.mu.Unlock()
		close(ch)
	}, nil
}

type heldKey struct {
	ik      *keys.Intermediate
	kek     int
	created time.Time
	expires time.Time
}

func (s *Service) keyTTL() time.Duration      { return cmpOr(s.KeyTTL, DefaultKeyTTL) }
func (s *Service) keyLifetime() time.Duration { return cmpOr(s.KeyLifetime, DefaultKeyLifetime) }

func cmpOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// wrappingKey returns the intermediate key that wraps a new object's
// keyset: the newest one, made within its lifetime, or a new one.
func (s *Service) wrappingKey(ctx context.Context, by string) (string, *keys.Intermediate, int, error) {
	for {
		now := s.now()
		s.iks.mu.Lock()
		if h, ok := s.iks.held[s.iks.current]; ok && now.Before(h.expires) && now.Sub(h.created) < s.keyLifetime() {
			s.iks.mu.Unlock()
			return s.iks.current, h.ik, h.kek, nil
		}
		finish, wait := s.iks.join("")
		s.iks.mu.Unlock()
		if wait != nil {
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return "", nil, 0, ctx.Err()
			}
		}
		id, err := s.refreshWrappingKey(ctx, now, by)
		finish(func() {
			if err == nil {
				s.iks.current = id
			}
		})
		if err != nil {
			return "", nil, 0, err
		}
	}
}

// refreshWrappingKey takes the newest key in the store if it is within
// its lifetime (another gateway may have made it), and otherwise makes
// and logs a new one. It returns the key's id, held.
func (s *Service) refreshWrappingKey(ctx context.Context, now time.Time, by string) (string, error) {
	k, err := s.Store.LatestIntermediateKey(ctx)
	switch {
	case err == nil && now.Sub(k.Created) < s.keyLifetime():
		if _, err := s.holdKey(ctx, k); err != nil {
			return "", err
		}
		return k.ID, nil
	case err != nil && !errors.Is(err, ombud.ErrNotFound):
		return "", err
	}
	return s.makeIntermediate(ctx, by)
}

// makeIntermediate makes an intermediate key, wraps it by the current
// KEK (one KMS call) and records it through the one pattern: reserved,
// its key entry logged, committed. The store records it only under the
// current KEK version, and never while a rotation is in flight; a key made
// under a version a rotation has just left is made again under the new
// one.
func (s *Service) makeIntermediate(ctx context.Context, by string) (string, error) {
	for attempt := 1; ; attempt++ {
		id, err := s.makeIntermediateOnce(ctx, by)
		if err == nil || attempt == 5 || !(errors.Is(err, ombud.ErrStale) || errors.Is(err, ombud.ErrBusy)) {
			return id, err
		}
		if errors.Is(err, ombud.ErrStale) {
			// Another gateway rotated the KEK: take its version.
			if err := s.SyncKeys(ctx); err != nil {
				return "", err
			}
		}
		t := time.NewTimer(time.Duration(attempt) * 50 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return "", ctx.Err()
		case <-t.C:
		}
	}
}

func (s *Service) makeIntermediateOnce(ctx context.Context, by string) (string, error) {
	id := ombud.NewID()
	ver, keeper := s.Keys.Current()
	ik, wrapped, err := keys.NewIntermediate(ctx, keeper, id)
	if err != nil {
		return "", fmt.Errorf("failed to make an intermediate key: %w", err)
	}
	now := s.now()
	k := &ombud.IntermediateKey{ID: id, KEKVersion: ver, Wrapped: wrapped, Created: now}
	c, err := journal.IntermediateCreate.Change("", journal.IntermediatePayload{Key: k})
	if err != nil {
		return "", err
	}
	if _, err := s.Journal.Apply(ctx, c, journal.Record{Body: entry.Key{Op: entry.OpCreate, KEKVersion: int64(ver), By: by}}, s.Journal.CommitStore); err != nil {
		return "", fmt.Errorf("failed to record an intermediate key: %w", err)
	}
	s.iks.mu.Lock()
	s.iks.put(now, id, heldKey{ik: ik, kek: ver, created: now, expires: now.Add(s.keyTTL())})
	s.iks.mu.Unlock()
	return id, nil
}

// intermediate returns the intermediate key id, held or read from the
// store and unwrapped by the KEK.
func (s *Service) intermediate(ctx context.Context, id string) (*keys.Intermediate, error) {
	for {
		now := s.now()
		s.iks.mu.Lock()
		if h, ok := s.iks.held[id]; ok && now.Before(h.expires) {
			s.iks.mu.Unlock()
			return h.ik, nil
		}
		finish, wait := s.iks.join("key:" + id)
		s.iks.mu.Unlock()
		if wait != nil {
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		ik, err := s.loadKey(ctx, id)
		finish(nil)
		return ik, err
	}
}

// loadKey reads the intermediate key id from the store and holds it.
func (s *Service) loadKey(ctx context.Context, id string) (*keys.Intermediate, error) {
	k, err := s.Store.IntermediateKey(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.holdKey(ctx, k)
}

// holdKey unwraps k by its KEK version and holds it for the TTL.
func (s *Service) holdKey(ctx context.Context, k *ombud.IntermediateKey) (*keys.Intermediate, error) {
	keeper, err := s.Keys.Keeper(k.KEKVersion)
	if err != nil {
		return nil, err
	}
	ik, err := keys.UnwrapIntermediate(ctx, keeper, k.Wrapped, k.ID)
	if err != nil {
		return nil, err
	}
	s.iks.mu.Lock()
	now := s.now()
	s.iks.put(now, k.ID, heldKey{ik: ik, kek: k.KEKVersion, created: k.Created, expires: now.Add(s.keyTTL())})
	s.iks.mu.Unlock()
	return ik, nil
}

// put holds a key, and forgets the keys whose time is up.
func (c *intermediates) put(now time.Time, id string, h heldKey) {
	if c.held == nil {
		c.held = map[string]heldKey{}
	}
	for old, o := range c.held {
		if !now.Before(o.expires) {
			delete(c.held, old)
		}
	}
	c.held[id] = h
}

// objectKey unwraps o's key, in its format: by its intermediate key, held
// or unwrapped by the KEK; or, for an object stored before intermediate
// keys, by the KEK itself.
// PlainDigest returns the SHA-256 of o's plaintext, opened from its sealed
// copy under o's key: keys.ErrNoDigest for an object stored before
// digests were kept (or erased), keys.ErrSegment for a sealed digest that
// does not open.
func (s *Service) PlainDigest(ctx context.Context, o *ombud.Object) ([]byte, error) {
	if len(o.PlainDigest) == 0 {
		return nil, keys.ErrNoDigest
	}
	key, err := s.objectKey(ctx, o)
	if err != nil {
		return nil, err
	}
	return key.OpenDigest(o.PlainDigest, o.ID)
}

func (s *Service) objectKey(ctx context.Context, o *ombud.Object) (*keys.ObjectKey, error) {
	if o.WrappingKey != "" {
		ik, err := s.intermediate(ctx, o.WrappingKey)
		if err != nil {
			return nil, err
		}
		return keys.UnwrapWith(ik, o.WrappedKeyset, o.ID, keys.Format(o.KeyFormat))
	}
	keeper, err := s.Keys.Keeper(o.KEKVersion)
	if err != nil {
		return nil, err
	}
	return keys.Unwrap(ctx, keeper, o.WrappedKeyset, o.ID)
}
