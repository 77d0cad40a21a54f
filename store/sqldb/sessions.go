package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ombud/ombud"
)

// Sessions and rate windows: operational state every gateway shares, not
// changes the log records, so they are written directly.

func (s *Store) StartSession(ctx context.Context, ss *ombud.Session, limit int) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expires <= $1`, ms(ss.Created)); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sessions`).Scan(&n); err != nil {
			return err
		}
		if n >= limit {
			return fmt.Errorf("%d sessions are live: %w", n, ombud.ErrBusy)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions (id_hash, principal, csrf, created, expires) VALUES ($1, $2, $3, $4, $5)`,
			ss.IDHash, ss.Principal, ss.CSRF, ms(ss.Created), ms(ss.Expires))
		if isUnique(err) {
			return fmt.Errorf("session: %w", ombud.ErrExists)
		}
		return err
	})
}

func (s *Store) Session(ctx context.Context, idHash []byte, now time.Time) (*ombud.Session, error) {
	ss := ombud.Session{IDHash: idHash}
	var created, expires int64
	err := s.r.QueryRowContext(ctx, `SELECT principal, csrf, created, expires FROM sessions WHERE id_hash = $1 AND expires > $2`, idHash, ms(now)).
		Scan(&ss.Principal, &ss.CSRF, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("session: %w", ombud.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	ss.Created, ss.Expires = fromMS(created), fromMS(expires)
	return &ss, nil
}

func (s *Store) ExtendSession(ctx context.Context, idHash []byte, expires time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE sessions SET expires = $1 WHERE id_hash = $2`, ms(expires), idHash)
		return err
	})
}

func (s *Store) EndSession(ctx context.Context, idHash []byte) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = $1`, idHash)
		return err
	})
}

func (s *Store) CountEvent(ctx context.Context, key []byte, now time.Time, max int, per time.Duration) (time.Duration, error) {
	var wait time.Duration
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		wait = 0
		var start, n int64
		err := tx.QueryRowContext(ctx, `SELECT start, n FROM rate_windows WHERE key = $1`, key).Scan(&start, &n)
		switch {
		case errors.Is(err, sql.ErrNoRows) || (err == nil && now.Sub(fromMS(start)) >= per):
			// A new window. Windows that ended long ago go at the same time.
			if _, err := tx.ExecContext(ctx, `DELETE FROM rate_windows WHERE start < $1`, ms(now.Add(-per))); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO rate_windows (key, start, n) VALUES ($1, $2, 1)
				ON CONFLICT (key) DO UPDATE SET start = excluded.start, n = 1`, key, ms(now))
			return err
		case err != nil:
			return err
		case n >= int64(max):
			wait = fromMS(start).Add(per).Sub(now)
			return nil
		}
		_, err = tx.ExecContext(ctx, `UPDATE rate_windows SET n = n + 1 WHERE key = $1`, key)
		return err
	})
	return wait, err
}

func (s *Store) Lease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error) {
	var held bool
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// One statement: insert, or take over a lease that is this
		// holder's or has run out; a live lease of another is left alone.
		res, err := tx.ExecContext(ctx, `INSERT INTO leases (name, holder, expires) VALUES ($1, $2, $3)
			ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires = excluded.expires
			WHERE leases.holder = excluded.holder OR leases.expires <= $4`, name, holder, ms(now.Add(ttl)), ms(now))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		held = n == 1
		return err
	})
	return held, err
}

// ErrOtherDeployment: the store records another deployment than the one
// a gateway was given.
var ErrOtherDeployment = errors.New("the store belongs to another deployment")

// Deployment is what a shared store records of the deployment it belongs
// to.
type Deployment struct {
	Origin   string // the log's origin
	LogKey   string // the log's note verifier key
	LogPlace string // "files", or the shared log's server and database
}

// BindDeployment records d as the store's deployment if it has none, and
// otherwise refuses a d that is not the one recorded, with
// ErrOtherDeployment and what differs. Gateways starting at once record
// one.
func (s *Store) BindDeployment(ctx context.Context, d Deployment) error {
	var got Deployment
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO deployment (id, origin, log_key, log_place) VALUES (0, $1, $2, $3) ON CONFLICT (id) DO NOTHING`,
			d.Origin, d.LogKey, d.LogPlace); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT origin, log_key, log_place FROM deployment WHERE id = 0`).Scan(&got.Origin, &got.LogKey, &got.LogPlace)
	})
	switch {
	case err != nil:
		return err
	case got.Origin != d.Origin || got.LogKey != d.LogKey:
		return fmt.Errorf("%w: this store belongs to the deployment whose log is %s (key %s), not this gateway's %s (key %s)", ErrOtherDeployment, got.Origin, got.LogKey, d.Origin, d.LogKey)
	case got.LogPlace != d.LogPlace:
		return fmt.Errorf("%w: this store's log is at %s, not at %s as this gateway is configured", ErrOtherDeployment, got.LogPlace, d.LogPlace)
	}
	return nil
}

// Bound reports whether the store records its deployment.
func (s *Store) Bound(ctx context.Context) (bool, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM deployment`).Scan(&n)
	return n > 0, err
}
