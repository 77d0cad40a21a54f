package sqlite

import (
	"context"
	"errors"
	"fmt"

	"github.com/ombud/ombud"
)

// Detail writes are group-committed: every decision stores a detail before
// its entry is appended, and one fsync'd transaction per caller would cap
// the whole gateway at the disk's sync rate. Callers queue; one writer takes
// everything queued, writes it in one transaction and answers all of them.

type putReq struct {
	ctx  context.Context
	ds   []ombud.Detail
	done chan error
}

var errClosed = errors.New("sqlite: store is closed")

// PutDetails implements ombud.Store.
func (s *Store) PutDetails(ctx context.Context, ds []ombud.Detail) error {
	if len(ds) == 0 {
		return nil
	}
	for _, d := range ds {
		if d.Commitment == "" || d.Body == nil || len(d.Salt) == 0 {
			return fmt.Errorf("sqlite: detail %q is incomplete", d.Commitment)
		}
	}
	req := &putReq{ctx: ctx, ds: ds, done: make(chan error, 1)}
	select {
	case s.details <- req:
	case <-s.stop:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		// The write may still land; an unreferenced detail is harmless.
		return ctx.Err()
	}
}

func (s *Store) detailWriter() {
	defer close(s.done)
	for {
		var first *putReq
		select {
		case first = <-s.details:
		case <-s.stop:
			// Answer anything still queued so no caller waits forever.
			for {
				select {
				case r := <-s.details:
					r.done <- errClosed
				default:
					return
				}
			}
		}
		batch := []*putReq{first}
		n := len(first.ds)
	drain:
		for n < s.maxB {
			select {
			case r := <-s.details:
				batch = append(batch, r)
				n += len(r.ds)
			default:
				break drain
			}
		}
		err := s.writeDetails(batch)
		for _, r := range batch {
			r.done <- err
		}
	}
}

func (s *Store) writeDetails(batch []*putReq) error {
	ctx := context.Background()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("failed to begin detail transaction: %w", err)
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO details (commitment, salt, body) VALUES (?, ?, ?) ON CONFLICT (commitment) DO NOTHING`)
	if err != nil {
		tx.Rollback()
		return err
	}
	defer stmt.Close()
	for _, r := range batch {
		for _, d := range r.ds {
			if _, err := stmt.ExecContext(ctx, d.Commitment, d.Salt, d.Body); err != nil {
				tx.Rollback()
				return fmt.Errorf("failed to store detail: %w", err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("failed to commit details: %w", err)
	}
	return nil
}
