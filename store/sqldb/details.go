package sqldb

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/journal"
)

// Detail writes are group-committed: every decision stores a detail, and one
// fsync'd transaction per caller would cap the gateway at the disk's sync
// rate. Callers queue; one writer takes everything queued, packs it into
// detail_batches rows in one transaction and answers all of them.
//
// A packed record is:
//
//	t          int64, big-endian Unix milliseconds of the entry
//	commitment 32 bytes
//	flags      1 byte; bit 0: erased (then no salt and no body follow);
//	           bit 1: the entry's kind follows
//	kind       1 byte length, then the kind (when flag bit 1 is set)
//	salt       32 bytes
//	body       uvarint length, then the bytes
//
// Records written before kinds were recorded have no kind; they are kept
// until erased with their object.

const (
	maxPerRow   = 1024 // records in one row: bounds the cost of a lookup
	maxSpanMs   = 1000 // time span of one row: bounds the rows a lookup reads
	flagErased  = 1
	flagKind    = 2
	recordFixed = 8 + 32 + 1
)

type putReq struct {
	ds   []journal.Detail
	done chan error
}

var errClosed = errors.New("store: store is closed")

// commitmentBytes turns "sha256:<hex>" into the 32 stored bytes.
func commitmentBytes(c string) ([]byte, bool) {
	h, ok := strings.CutPrefix(c, "sha256:")
	if !ok || len(h) != 64 {
		return nil, false
	}
	b, err := hex.DecodeString(h)
	return b, err == nil
}

// PutDetails implements store.Store.
func (s *Store) PutDetails(ctx context.Context, ds []journal.Detail) error {
	if len(ds) == 0 {
		return nil
	}
	for _, d := range ds {
		if _, ok := commitmentBytes(d.Commitment); !ok || d.Time.IsZero() || d.Body == nil || len(d.Salt) != 32 || len(d.Kind) > 255 {
			return fmt.Errorf("store: detail %q is incomplete", d.Commitment)
		}
	}
	req := &putReq{ds: ds, done: make(chan error, 1)}
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
		batch := s.drainDetails([]*putReq{first})
		err := s.writeDetails(batch)
		for _, r := range batch {
			r.done <- err
		}
	}
}

// drainDetails adds to batch what is queued, up to the batch bound.
func (s *Store) drainDetails(batch []*putReq) []*putReq {
	n := 0
	for _, r := range batch {
		n += len(r.ds)
	}
	for n < s.maxB {
		select {
		case r := <-s.details:
			batch = append(batch, r)
			n += len(r.ds)
		default:
			return batch
		}
	}
	return batch
}

func appendRecord(b []byte, d journal.Detail) []byte {
	c, _ := commitmentBytes(d.Commitment)
	b = binary.BigEndian.AppendUint64(b, uint64(d.Time.UnixMilli()))
	b = append(b, c...)
	if d.Kind != "" {
		b = append(b, flagKind, byte(len(d.Kind)))
		b = append(b, d.Kind...)
	} else {
		b = append(b, 0)
	}
	b = append(b, d.Salt...)
	b = binary.AppendUvarint(b, uint64(len(d.Body)))
	return append(b, d.Body...)
}

func (s *Store) writeDetails(batch []*putReq) error {
	return s.inTx(context.Background(), func(tx *sql.Tx) error { return insertDetails(context.Background(), tx, batch) })
}

// insertDetails packs the details of batch into detail_batches rows, in
// tx.
func insertDetails(ctx context.Context, tx *sql.Tx, batch []*putReq) error {
	var rows []journal.Detail
	for _, r := range batch {
		rows = append(rows, r.ds...)
	}
	slices.SortFunc(rows, func(a, b journal.Detail) int { return a.Time.Compare(b.Time) })
	buf := make([]byte, 0, 64<<10)
	for len(rows) > 0 {
		tmin := rows[0].Time.UnixMilli()
		n := 0
		buf = buf[:0]
		for n < len(rows) && n < maxPerRow && rows[n].Time.UnixMilli()-tmin <= maxSpanMs {
			buf = appendRecord(buf, rows[n])
			n++
		}
		tmax := rows[n-1].Time.UnixMilli()
		if _, err := tx.ExecContext(ctx, `INSERT INTO detail_batches (t_min, t_max, n, data) VALUES ($1, $2, $3, $4)`, tmin, tmax, n, buf); err != nil {
			return fmt.Errorf("failed to store details: %w", err)
		}
		rows = rows[n:]
	}
	return nil
}

// record is one decoded packed record and where it sits in its row: its
// prefix (time, commitment, flags, kind) is data[start:keep], its secret
// part (salt, body) data[keep:end].
type record struct {
	start, keep, end int
	t                int64
	c                []byte
	erased           bool
	kind             string
	salt, body       []byte
}

// nextRecord decodes the record at off. Malformed data is an error: the
// row was written by this package, so damage must not pass silently.
func nextRecord(data []byte, off int) (record, error) {
	if len(data)-off < recordFixed {
		return record{}, errors.New("store: truncated detail record")
	}
	r := record{start: off}
	r.t = int64(binary.BigEndian.Uint64(data[off:]))
	r.c = data[off+8 : off+40]
	flags := data[off+40]
	r.erased = flags&flagErased != 0
	off += recordFixed
	if flags&flagKind != 0 {
		if off >= len(data) || len(data)-off-1 < int(data[off]) {
			return record{}, errors.New("store: truncated detail kind")
		}
		n := int(data[off])
		r.kind = string(data[off+1 : off+1+n])
		off += 1 + n
	}
	r.keep = off
	if !r.erased {
		if len(data)-off < 32 {
			return record{}, errors.New("store: truncated detail salt")
		}
		r.salt = data[off : off+32]
		off += 32
		l, k := binary.Uvarint(data[off:])
		if k <= 0 || uint64(len(data)-off-k) < l {
			return record{}, errors.New("store: truncated detail body")
		}
		off += k
		r.body = data[off : off+int(l)]
		off += int(l)
	}
	r.end = off
	return r, nil
}

// findRecord scans a packed row for (t, c).
func findRecord(data []byte, t int64, c []byte) (record, bool, error) {
	for off := 0; off < len(data); {
		r, err := nextRecord(data, off)
		if err != nil {
			return record{}, false, err
		}
		if r.t == t && bytes.Equal(r.c, c) {
			return r, true, nil
		}
		off = r.end
	}
	return record{}, false, nil
}

// withoutSecret returns data with record r's salt and body removed and its
// erased flag set.
func withoutSecret(data []byte, r record) []byte {
	out := make([]byte, 0, len(data)-(r.end-r.keep))
	out = append(out, data[:r.keep]...)
	out[r.start+recordFixed-1] |= flagErased
	return append(out, data[r.end:]...)
}

type querier interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}

// candidates returns the rows whose time range holds t.
func candidates(ctx context.Context, q querier, t int64) (ids []int64, datas [][]byte, err error) {
	rows, err := q.QueryContext(ctx, `SELECT id, data FROM detail_batches WHERE t_min BETWEEN $1 AND $2 AND t_max >= $3 ORDER BY id`, t-maxSpanMs, t, t)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var data []byte
		if err := rows.Scan(&id, &data); err != nil {
			return nil, nil, err
		}
		ids, datas = append(ids, id), append(datas, data)
	}
	return ids, datas, rows.Err()
}

func (s *Store) Detail(ctx context.Context, k ombud.DetailKey) (journal.Detail, error) {
	d := journal.Detail{Commitment: k.Commitment, Time: k.Time}
	c, ok := commitmentBytes(k.Commitment)
	if !ok {
		return d, fmt.Errorf("detail %s: %w", k.Commitment, ombud.ErrNotFound)
	}
	_, datas, err := candidates(ctx, s.r, k.Time.UnixMilli())
	if err != nil {
		return d, err
	}
	for _, data := range datas {
		r, found, err := findRecord(data, k.Time.UnixMilli(), c)
		if err != nil {
			return d, err
		}
		if found {
			if !r.erased {
				d.Salt, d.Body = bytes.Clone(r.salt), bytes.Clone(r.body)
			}
			return d, nil
		}
	}
	return d, fmt.Errorf("detail %s: %w", k.Commitment, ombud.ErrNotFound)
}

// EraseDetail rewrites every row holding the record without its salt and
// body. secure_delete zeroes the space the old row occupied.
func (s *Store) EraseDetail(ctx context.Context, k ombud.DetailKey) error {
	if err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := eraseDetail(ctx, tx, k)
		return err
	}); err != nil {
		return err
	}
	// The erased bytes may still sit in the engine's old copies of the rows.
	s.afterShred(ctx)
	return nil
}

// eraseDetail erases one record in tx; it reports whether it erased
// anything (false: erased already).
func eraseDetail(ctx context.Context, tx *sql.Tx, k ombud.DetailKey) (bool, error) {
	c, ok := commitmentBytes(k.Commitment)
	if !ok {
		return false, fmt.Errorf("detail %s: %w", k.Commitment, ombud.ErrNotFound)
	}
	t := k.Time.UnixMilli()
	ids, datas, err := candidates(ctx, tx, t)
	if err != nil {
		return false, err
	}
	found, erased := false, false
	for i, data := range datas {
		r, ok, err := findRecord(data, t, c)
		if err != nil {
			return false, err
		}
		if !ok {
			continue
		}
		found = true
		if r.erased {
			continue
		}
		if _, err := tx.ExecContext(ctx, `UPDATE detail_batches SET data = $1 WHERE id = $2`, withoutSecret(data, r), ids[i]); err != nil {
			return false, err
		}
		erased = true
	}
	if !found {
		return false, fmt.Errorf("detail %s: %w", k.Commitment, ombud.ErrNotFound)
	}
	return erased, nil
}

// eraseDetailsBefore erases, in tx, every record of entries of kind whose
// time is before before; it returns how many it erased.
func eraseDetailsBefore(ctx context.Context, tx *sql.Tx, kind entry.Kind, before time.Time) (int, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, data FROM detail_batches WHERE t_min < $1 ORDER BY id`, before.UnixMilli())
	if err != nil {
		return 0, err
	}
	type update struct {
		id   int64
		data []byte
	}
	var updates []update
	n := 0
	for rows.Next() {
		var id int64
		var data []byte
		if err := rows.Scan(&id, &data); err != nil {
			rows.Close()
			return 0, err
		}
		changed := false
		for off := 0; off < len(data); {
			r, err := nextRecord(data, off)
			if err != nil {
				rows.Close()
				return 0, err
			}
			if !r.erased && r.kind == string(kind) && r.t < before.UnixMilli() {
				data = withoutSecret(data, r)
				off = r.keep
				changed = true
				n++
				continue
			}
			off = r.end
		}
		if changed {
			updates = append(updates, update{id, data})
		}
	}
	if err := rows.Close(); err != nil {
		return 0, err
	}
	for _, u := range updates {
		if _, err := tx.ExecContext(ctx, `UPDATE detail_batches SET data = $1 WHERE id = $2`, u.data, u.id); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// CountDetailsBefore counts the records of entries of kind whose time is
// before before and that are not erased: what an erasure of them would
// erase.
func (s *Store) CountDetailsBefore(ctx context.Context, kind entry.Kind, before time.Time) (int, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT data FROM detail_batches WHERE t_min < $1 ORDER BY id`, before.UnixMilli())
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&data); err != nil {
			return 0, err
		}
		for off := 0; off < len(data); {
			r, err := nextRecord(data, off)
			if err != nil {
				return 0, err
			}
			if !r.erased && r.kind == string(kind) && r.t < before.UnixMilli() {
				n++
			}
			off = r.end
		}
	}
	return n, rows.Err()
}

// detailsErase erases the details of one kind up to a time, never back
// to an earlier one.
var detailsErase = operation[journal.DetailsPayload]{Operation: journal.DetailsErase,
	reserve: func(ctx context.Context, tx *sql.Tx, _ string, p *journal.DetailsPayload) error {
		var before int64
		err := tx.QueryRowContext(ctx, `SELECT before FROM detail_erasures WHERE kind = $1`, string(p.Kind)).Scan(&before)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if err == nil && p.Before.UnixMilli() <= before {
			return fmt.Errorf("%s details are erased up to %s already: %w", p.Kind, fromMS(before).Format(time.DateOnly), ombud.ErrStale)
		}
		return nil
	},
	commit: func(ctx context.Context, tx *sql.Tx, _ string, p *journal.DetailsPayload, index uint64) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO detail_erasures (kind, before, log_index) VALUES ($1, $2, $3) ON CONFLICT (kind) DO UPDATE SET before = excluded.before, log_index = excluded.log_index`,
			string(p.Kind), p.Before.UnixMilli(), index); err != nil {
			return err
		}
		_, err := eraseDetailsBefore(ctx, tx, p.Kind, p.Before)
		return err
	},
	undo:   nothingToUndo[journal.DetailsPayload],
	shreds: true,
}

// detailOperations lists this file's operations, for the table in operations.go.
var detailOperations = []op{detailsErase}
