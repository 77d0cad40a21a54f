package sqldb

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/journal"
)

func (s *Store) Issuers(ctx context.Context) ([]*ombud.Issuer, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT name, kind, jurisdiction, key, registered, log_index FROM issuers WHERE pending = 0 ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*ombud.Issuer
	for rows.Next() {
		var i ombud.Issuer
		var reg int64
		if err := rows.Scan(&i.Name, &i.Kind, &i.Jurisdiction, &i.Key, &reg, &i.Index); err != nil {
			return nil, err
		}
		i.Registered = fromMS(reg)
		out = append(out, &i)
	}
	return out, rows.Err()
}

func (s *Store) Authorization(ctx context.Context, id string) (*ombud.RegisteredAuthorization, error) {
	var a ombud.RegisteredAuthorization
	var ps string
	var reg int64
	var revoked, revokeIdx sql.NullInt64
	var reason sql.NullString
	err := s.r.QueryRowContext(ctx, `SELECT note, subjects_ps, uses, registered, log_index, revoked, revoke_reason, revoke_index FROM authorizations WHERE id = $1 AND pending = 0`, id).
		Scan(&a.Note, &ps, &a.Uses, &reg, &a.Index, &revoked, &reason, &revokeIdx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("authorization %s: %w", id, ombud.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	parsed, err := ombud.ParseAuthorization(noteText(a.Note))
	if err != nil {
		return nil, fmt.Errorf("authorization %s: stored note no longer parses: %w", id, err)
	}
	a.Authorization = *parsed
	if ps != "" {
		a.SubjectPseudonyms = strings.Split(ps, ",")
	}
	a.Registered = fromMS(reg)
	if revoked.Valid {
		t := fromMS(revoked.Int64)
		a.Revoked, a.RevokeReason, a.RevokeIndex = &t, reason.String, uint64(revokeIdx.Int64)
	}
	return &a, nil
}

// noteText returns the text of a signed note: everything before the blank
// line that starts the signatures.
func noteText(n string) string {
	if i := strings.Index(n, "\n\n"); i >= 0 {
		return n[:i+1]
	}
	return n
}

// UseAuthorization takes a use with one conditional UPDATE on the single
// writer connection, so concurrent readers can never exceed max_uses. Uses
// are group-committed like details: every sensitive read takes one, and a
// transaction (and fsync) each would cap reads at the disk's sync rate.
func (s *Store) UseAuthorization(ctx context.Context, id string, from uint64) (int, error) {
	req := &useReq{id: id, from: from, done: make(chan useResult, 1)}
	select {
	case s.uses <- req:
	case <-s.stop:
		return 0, errClosed
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	r := <-req.done // always answered; a use once taken is reported
	if errors.Is(r.err, sql.ErrNoRows) {
		a, err := s.Authorization(ctx, id)
		if err != nil {
			return 0, err
		}
		if a.Revoked != nil {
			return 0, fmt.Errorf("authorization %s: %w", id, ombud.ErrRevoked)
		}
		return 0, fmt.Errorf("authorization %s: %w", id, ombud.ErrExhausted)
	}
	return r.uses, r.err
}

type useReq struct {
	id   string
	from uint64
	done chan useResult
}

// useKey names a use: its authorization and its number.
type useKey struct {
	id string
	n  int
}

// UseLogged implements ombud.AuthorizationStore: the use leaves
// uses_in_flight in the use writer's next transaction.
func (s *Store) UseLogged(id string, n int) {
	s.loggedMu.Lock()
	s.logged = append(s.logged, useKey{id, n})
	s.loggedMu.Unlock()
	select {
	case s.loggedWake <- struct{}{}:
	default:
	}
}

// takeLogged returns the uses noted logged since the last call.
func (s *Store) takeLogged() []useKey {
	s.loggedMu.Lock()
	defer s.loggedMu.Unlock()
	l := s.logged
	s.logged = nil
	return l
}

type useResult struct {
	uses int
	err  error
}

func (s *Store) useWriter() {
	defer close(s.usesDone)
	for {
		var first *useReq
		select {
		case first = <-s.uses:
		case <-s.loggedWake:
			if logged := s.takeLogged(); len(logged) > 0 {
				s.writeUses(nil, logged)
			}
			continue
		case <-s.stop:
			for {
				select {
				case r := <-s.uses:
					r.done <- useResult{err: errClosed}
				default:
					return
				}
			}
		}
		batch := s.drainUses([]*useReq{first})
		results := s.writeUses(batch, s.takeLogged())
		for i, r := range batch {
			r.done <- results[i]
		}
	}
}

// writeUses takes the uses of batch, each recorded in flight, and records
// those in logged as logged, in one transaction. A use noted logged whose
// deletion fails stays in flight, for recovery to settle.
func (s *Store) writeUses(batch []*useReq, logged []useKey) []useResult {
	out := make([]useResult, len(batch))
	opts := s.d.WriteTx
	if s.d.CountTx != nil {
		opts = s.d.CountTx
	}
	if err := s.inTxWith(context.Background(), opts, func(tx *sql.Tx) error { return s.takeUses(context.Background(), tx, batch, logged, out) }); err != nil {
		for i := range out {
			out[i] = useResult{err: err}
		}
	}
	return out
}

// drainUses adds to batch what is queued, up to 1024 uses.
func (s *Store) drainUses(batch []*useReq) []*useReq {
	for len(batch) < 1024 {
		select {
		case r := <-s.uses:
			batch = append(batch, r)
		default:
			return batch
		}
	}
	return batch
}

// takeUses, in tx, records the uses in logged as logged and takes the uses
// of batch, each recorded in flight, with their results in out.
func (s *Store) takeUses(ctx context.Context, tx *sql.Tx, batch []*useReq, logged []useKey, out []useResult) error {
	del := tx.StmtContext(ctx, s.usedStmt)
	for _, u := range logged {
		if _, err := del.ExecContext(ctx, u.id, u.n); err != nil {
			return err
		}
	}
	use, flight := tx.StmtContext(ctx, s.useStmt), tx.StmtContext(ctx, s.flightStmt)
	now := ms(time.Now())
	for i, r := range batch {
		out[i] = useResult{}
		out[i].err = use.QueryRowContext(ctx, r.id).Scan(&out[i].uses)
		if out[i].err != nil && !errors.Is(out[i].err, sql.ErrNoRows) {
			return out[i].err
		}
		if out[i].err != nil {
			continue
		}
		if _, err := flight.ExecContext(ctx, r.id, out[i].uses, int64(r.from), now); err != nil {
			return err
		}
	}
	return nil
}

// oneWriter is the store's writer when its engine has a single writer
// connection (SQLite): the details and the uses queued meanwhile go in one
// transaction, one sync to disk, instead of two that wait on each other.
// A read's use then waits for no detail transaction before its own.
func (s *Store) oneWriter() {
	defer close(s.usesDone)
	defer close(s.done)
	ctx := context.Background()
	for {
		var ds []*putReq
		var us []*useReq
		select {
		case r := <-s.details:
			ds = append(ds, r)
		case r := <-s.uses:
			us = append(us, r)
		case <-s.loggedWake:
		case <-s.stop:
			for {
				select {
				case r := <-s.details:
					r.done <- errClosed
				case r := <-s.uses:
					r.done <- useResult{err: errClosed}
				default:
					return
				}
			}
		}
		ds, us = s.drainDetails(ds), s.drainUses(us)
		logged := s.takeLogged()
		if len(ds) == 0 && len(us) == 0 && len(logged) == 0 {
			continue
		}
		out := make([]useResult, len(us))
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			if len(ds) > 0 {
				if err := insertDetails(ctx, tx, ds); err != nil {
					return err
				}
			}
			return s.takeUses(ctx, tx, us, logged, out)
		})
		for _, r := range ds {
			r.done <- err
		}
		for i, r := range us {
			if err != nil {
				out[i] = useResult{err: err}
			}
			r.done <- out[i]
		}
	}
}

func (s *Store) RefundAuthorization(ctx context.Context, id string, n int) error {
	return s.SettleUse(ctx, id, n, false)
}

// UsesInFlight implements ombud.AuthorizationStore.
func (s *Store) UsesInFlight(ctx context.Context, before time.Time) ([]ombud.UseInFlight, error) {
	return queryAll(ctx, s.r, func(row scanner) (ombud.UseInFlight, error) {
		var u ombud.UseInFlight
		var from, created int64
		err := row.Scan(&u.Authorization, &u.Use, &from, &created)
		u.From, u.Created = uint64(from), fromMS(created)
		return u, err
	}, `SELECT authorization_id, use_number, log_from, created FROM uses_in_flight WHERE created < $1 ORDER BY log_from`, ms(before))
}

// SettleUse implements ombud.AuthorizationStore. A use refunded gives
// back one use of the count, in the transaction that ends it in flight,
// so that a refund is never counted twice.
func (s *Store) SettleUse(ctx context.Context, id string, n int, logged bool) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM uses_in_flight WHERE authorization_id = $1 AND use_number = $2`, id, n)
		if err != nil {
			return err
		}
		if logged {
			return nil
		}
		if k, _ := res.RowsAffected(); k == 0 {
			// Not in flight (settled already, or recorded logged): a
			// refund of a use whose decision is logged is refused.
			return fmt.Errorf("use %d of authorization %s: %w", n, id, ombud.ErrNotFound)
		}
		_, err = tx.ExecContext(ctx, `UPDATE authorizations SET uses = uses - 1 WHERE id = $1 AND uses > 0`, id)
		return err
	})
}

func (s *Store) LatestPolicy(ctx context.Context) (int, string, error) {
	var v int
	var sha string
	err := s.r.QueryRowContext(ctx, `SELECT version, sha256 FROM policy_versions ORDER BY version DESC LIMIT 1`).Scan(&v, &sha)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", nil
	}
	return v, sha, err
}

const emergencyCols = `log_index, object_id, principal, purpose, reason, at, deadline, covered_by, breach_index, attest_index`

func scanEmergency(row scanner) (*ombud.Emergency, error) {
	var e ombud.Emergency
	var at, dl int64
	var covered sql.NullString
	var breach, attest sql.NullInt64
	if err := row.Scan(&e.Index, &e.ObjectID, &e.Principal, &e.Purpose, &e.Reason, &at, &dl, &covered, &breach, &attest); err != nil {
		return nil, err
	}
	e.At, e.Deadline = fromMS(at), fromMS(dl)
	e.CoveredBy, e.BreachIndex, e.AttestIndex = covered.String, uint64(breach.Int64), uint64(attest.Int64)
	return &e, nil
}

func (s *Store) Emergency(ctx context.Context, index uint64) (*ombud.Emergency, error) {
	e, err := scanEmergency(s.r.QueryRowContext(ctx, `SELECT `+emergencyCols+` FROM emergencies WHERE log_index = $1`, index))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("emergency read %d: %w", index, ombud.ErrNotFound)
	}
	return e, err
}

func (s *Store) OpenEmergencies(ctx context.Context) ([]*ombud.Emergency, error) {
	return s.emergencies(ctx, `WHERE covered_by IS NULL AND breach_index IS NULL ORDER BY deadline`)
}

func (s *Store) Breaches(ctx context.Context) ([]*ombud.Emergency, error) {
	return s.emergencies(ctx, `WHERE breach_index IS NOT NULL ORDER BY breach_index`)
}

func (s *Store) emergencies(ctx context.Context, where string) ([]*ombud.Emergency, error) {
	return queryAll(ctx, s.r, scanEmergency, `SELECT `+emergencyCols+` FROM emergencies `+where)
}

func (s *Store) CoverEmergency(ctx context.Context, index uint64, authorizationID string) error {
	return s.exec1(ctx, "emergency", strconv.FormatUint(index, 10), `UPDATE emergencies SET covered_by = $1 WHERE log_index = $2 AND covered_by IS NULL`, authorizationID, index)
}

var issuerRegister = privilegedAs(registration(journal.IssuerRegister, "issuers", "name", func(ctx context.Context, tx *sql.Tx, p *journal.IssuerPayload) error {
	i := p.Issuer
	_, err := tx.ExecContext(ctx, `INSERT INTO issuers (name, kind, jurisdiction, key, registered, log_index, pending) VALUES ($1, $2, $3, $4, $5, 0, 1)`,
		i.Name, i.Kind, i.Jurisdiction, i.Key, ms(i.Registered))
	if isUnique(err) {
		return fmt.Errorf("issuer %s: %w", i.Name, ombud.ErrExists)
	}
	return err
}), ombud.OpIssuerRegister)

var authorizationRegister = registration(journal.AuthorizationRegister, "authorizations", "id", func(ctx context.Context, tx *sql.Tx, p *journal.AuthorizationPayload) error {
	a := p.Authorization
	_, err := tx.ExecContext(ctx, `INSERT INTO authorizations (id, issuer, note, subjects_ps, max_uses, uses, registered, log_index, pending) VALUES ($1, $2, $3, $4, $5, 0, $6, 0, 1)`,
		a.ID, a.Issuer, a.Note, strings.Join(a.SubjectPseudonyms, ","), a.MaxUses, ms(a.Registered))
	if isUnique(err) {
		return fmt.Errorf("authorization %s: %w", a.ID, ombud.ErrExists)
	}
	return err
})

// authorizationStanding refuses an authorization that is not registered
// (ErrNotFound) or is revoked (ErrRevoked).
func authorizationStanding(ctx context.Context, tx *sql.Tx, id string) error {
	var revoked sql.NullInt64
	err := tx.QueryRowContext(ctx, `SELECT revoked FROM authorizations WHERE id = $1 AND pending = 0`, id).Scan(&revoked)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("authorization %s: %w", id, ombud.ErrNotFound)
	case err != nil:
		return err
	case revoked.Valid:
		return fmt.Errorf("authorization %s: %w", id, ombud.ErrRevoked)
	}
	return nil
}

// authorizationRevoke waits for the runs citing the authorization that
// are being started, and for the flags, reviews and actions of its runs
// being logged: each is logged before the revocation, or refused.
var authorizationRevoke = operation[journal.RevokePayload]{Operation: journal.AuthorizationRevoke,
	reserve: func(ctx context.Context, tx *sql.Tx, id string, _ *journal.RevokePayload) error {
		if err := authorizationStanding(ctx, tx, id); err != nil {
			return err
		}
		if busy, err := runStartsInFlight(ctx, tx, `authorization_id = $1`, id); err != nil || busy {
			return cmp.Or(err, fmt.Errorf("a run citing authorization %s is starting: %w", id, ombud.ErrBusy))
		}
		if busy, err := exportStartsInFlight(ctx, tx, `authorization_id = $1`, id); err != nil || busy {
			return cmp.Or(err, fmt.Errorf("an export under authorization %s is starting: %w", id, ombud.ErrBusy))
		}
		if busy, err := reviewPipelineInFlight(ctx, tx, id); err != nil || busy {
			return cmp.Or(err, fmt.Errorf("a flag, review or action of a run under authorization %s is being logged: %w", id, ombud.ErrBusy))
		}
		return nil
	},
	commit: func(ctx context.Context, tx *sql.Tx, id string, p *journal.RevokePayload, index uint64) error {
		return exactlyOne(ctx, tx, `UPDATE authorizations SET revoked = $1, revoke_reason = $2, revoke_index = $3 WHERE id = $4 AND revoked IS NULL`,
			ms(p.At), p.Reason, index, id)
	},
	undo: nothingToUndo[journal.RevokePayload],
}

// policySet records the next policy version, and only the next: a change
// built on an older version is stale.
var policySet = operation[journal.PolicyPayload]{Operation: journal.PolicySet, privileged: always[journal.PolicyPayload](ombud.OpPolicyReload),
	reserve: func(ctx context.Context, tx *sql.Tx, _ string, p *journal.PolicyPayload) error {
		var v int
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM policy_versions`).Scan(&v); err != nil {
			return err
		}
		if v != p.Version-1 {
			return fmt.Errorf("policy version %d is recorded, not %d: %w", v, p.Version-1, ombud.ErrStale)
		}
		return nil
	},
	commit: func(ctx context.Context, tx *sql.Tx, _ string, p *journal.PolicyPayload, index uint64) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO policy_versions (version, sha256, loaded, log_index) VALUES ($1, $2, $3, $4)`, p.Version, p.SHA, ms(time.Now()), index)
		return err
	},
	undo: nothingToUndo[journal.PolicyPayload],
}

// emergencyRead records an emergency read at its permit's index; its
// target is new each time, so it reserves nothing.
var emergencyRead = operation[journal.EmergencyPayload]{Operation: journal.EmergencyRead,
	reserve: noPrecondition[journal.EmergencyPayload],
	commit: func(ctx context.Context, tx *sql.Tx, _ string, p *journal.EmergencyPayload, index uint64) error {
		e := p.Emergency
		if e == nil {
			return errors.New("no emergency read in the payload")
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO emergencies (log_index, object_id, principal, purpose, reason, at, deadline) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			index, e.ObjectID, e.Principal, e.Purpose, e.Reason, ms(e.At), ms(e.Deadline))
		return err
	},
	undo: nothingToUndo[journal.EmergencyPayload],
}

// emergencyState reads what a breach or an attestation checks of the
// emergency read logged at index; ErrNotFound if there is none.
func emergencyState(ctx context.Context, tx *sql.Tx, index uint64) (covered, breached, attested bool, err error) {
	var c sql.NullString
	var b, a sql.NullInt64
	err = tx.QueryRowContext(ctx, `SELECT covered_by, breach_index, attest_index FROM emergencies WHERE log_index = $1`, index).Scan(&c, &b, &a)
	if errors.Is(err, sql.ErrNoRows) {
		err = fmt.Errorf("emergency read %d: %w", index, ombud.ErrNotFound)
	}
	return c.Valid, b.Valid, a.Valid, err
}

var breach = operation[journal.BreachPayload]{Operation: journal.Breach,
	reserve: func(ctx context.Context, tx *sql.Tx, _ string, p *journal.BreachPayload) error {
		covered, breached, _, err := emergencyState(ctx, tx, p.Emergency)
		if err == nil && (covered || breached) {
			return fmt.Errorf("emergency read %d is covered or breached already: %w", p.Emergency, ombud.ErrStale)
		}
		return err
	},
	commit: func(ctx context.Context, tx *sql.Tx, _ string, p *journal.BreachPayload, index uint64) error {
		if err := exactlyOne(ctx, tx, `UPDATE emergencies SET breach_index = $1 WHERE log_index = $2 AND breach_index IS NULL`, index, p.Emergency); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE principals SET emergency_suspended = $1 WHERE id = $2`, index, p.Principal)
		return err
	},
	undo: nothingToUndo[journal.BreachPayload],
}

var attest = operation[journal.AttestPayload]{Operation: journal.Attest,
	reserve: func(ctx context.Context, tx *sql.Tx, _ string, p *journal.AttestPayload) error {
		_, breached, attested, err := emergencyState(ctx, tx, p.Breach)
		switch {
		case err != nil:
			return err
		case !breached:
			return fmt.Errorf("emergency read %d has no breach: %w", p.Breach, ombud.ErrNotFound)
		case attested:
			return fmt.Errorf("the deletion of data derived from emergency read %d is attested already: %w", p.Breach, ombud.ErrExists)
		}
		return nil
	},
	commit: func(ctx context.Context, tx *sql.Tx, _ string, p *journal.AttestPayload, index uint64) error {
		return exactlyOne(ctx, tx, `UPDATE emergencies SET attest_index = $1 WHERE log_index = $2 AND attest_index IS NULL`, index, p.Breach)
	},
	undo: nothingToUndo[journal.AttestPayload],
}

// authorizationOperations lists this file's operations, for the table in operations.go.
var authorizationOperations = []op{issuerRegister, authorizationRegister, authorizationRevoke, policySet, emergencyRead, breach, attest}
