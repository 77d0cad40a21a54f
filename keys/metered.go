package keys

import (
	"context"
	"sync"
	"time"

	"gocloud.dev/gcerrors"
	"gocloud.dev/secrets"
)

// VersionedKeyring is a Keyring that can add and retire KEK versions, as
// the local keyring and a KMS's do.
type VersionedKeyring interface {
	Keyring
	AddVersion() (int, error)
	Retire(keep int) error
	// Sync brings the keyring to the deployment's current version, which
	// a rotation through another gateway may have moved.
	Sync(version int) error
}

// Metered wraps a keyring so that every call of its keepers (an encrypt
// or a decrypt: a KMS call for a KMS keeper) is counted by count and,
// when latency is set, first waits that long: a benchmark's stand-in for
// a remote KMS.
func Metered(ring VersionedKeyring, count func(), latency time.Duration) VersionedKeyring {
	return &metered{ring: ring, count: count, latency: latency, keepers: map[*secrets.Keeper]*secrets.Keeper{}}
}

type metered struct {
	ring    VersionedKeyring
	count   func()
	latency time.Duration

	mu      sync.Mutex
	keepers map[*secrets.Keeper]*secrets.Keeper // by the wrapped keeper
}

func (m *metered) wrap(k *secrets.Keeper) *secrets.Keeper {
	m.mu.Lock()
	defer m.mu.Unlock()
	w, ok := m.keepers[k]
	if !ok {
		w = secrets.NewKeeper(&meteredKeeper{k: k, m: m})
		m.keepers[k] = w
	}
	return w
}

func (m *metered) Current() (int, *secrets.Keeper) {
	v, k := m.ring.Current()
	return v, m.wrap(k)
}

func (m *metered) Keeper(version int) (*secrets.Keeper, error) {
	k, err := m.ring.Keeper(version)
	if err != nil {
		return nil, err
	}
	return m.wrap(k), nil
}

func (m *metered) AddVersion() (int, error) { return m.ring.AddVersion() }

// Close closes the keyring if it holds anything to close (a KMS keeper).
func (m *metered) Close() error {
	if c, ok := m.ring.(interface{ Close() error }); ok {
		return c.Close()
	}
	return nil
}
func (m *metered) Retire(keep int) error  { return m.ring.Retire(keep) }
func (m *metered) Sync(version int) error { return m.ring.Sync(version) }

// meteredKeeper is the gocloud.dev/secrets driver of a metered keeper.
type meteredKeeper struct {
	k *secrets.Keeper
	m *metered
}

func (d *meteredKeeper) call(ctx context.Context) error {
	d.m.count()
	if d.m.latency <= 0 {
		return nil
	}
	t := time.NewTimer(d.m.latency)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (d *meteredKeeper) Encrypt(ctx context.Context, pt []byte) ([]byte, error) {
	if err := d.call(ctx); err != nil {
		return nil, err
	}
	return d.k.Encrypt(ctx, pt)
}

func (d *meteredKeeper) Decrypt(ctx context.Context, ct []byte) ([]byte, error) {
	if err := d.call(ctx); err != nil {
		return nil, err
	}
	return d.k.Decrypt(ctx, ct)
}

// Close closes nothing: the wrapped keeper belongs to the keyring.
func (d *meteredKeeper) Close() error                           { return nil }
func (d *meteredKeeper) ErrorAs(err error, i any) bool          { return d.k.ErrorAs(err, i) }
func (d *meteredKeeper) ErrorCode(err error) gcerrors.ErrorCode { return gcerrors.Code(err) }
