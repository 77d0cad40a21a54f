package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/journal"
)

// Changes are reserved, committed and undone each in one transaction on
// the single writer connection (BEGIN IMMEDIATE), so the preconditions a
// reservation checks still hold when it is recorded. The changes table's
// UNIQUE target lets one change per target be in flight.

func isUnique(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// targetID returns the id in a target "prefix:id", or an error when the
// change names another kind of target.
func targetID(c *journal.Change, prefix string) (string, error) {
	id, ok := strings.CutPrefix(c.Target, prefix+":")
	if !ok || id == "" {
		return "", fmt.Errorf("sqlite: change %s has target %q, want %s:…", c.Op, c.Target, prefix)
	}
	return id, nil
}

// Reserve implements store.Store.
func (s *Store) Reserve(ctx context.Context, c *journal.Change) error {
	if c.Token == "" || c.Target == "" || len(c.Leaf) != 32 {
		return fmt.Errorf("sqlite: incomplete change %+v", c)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO changes (token, op, target, leaf, from_size, created, payload) VALUES (?,?,?,?,?,?,?)`,
		c.Token, string(c.Op), c.Target, c.Leaf, c.From, ms(c.Created), c.Payload); err != nil {
		if isUnique(err) {
			return fmt.Errorf("%s: %w", c.Target, ombud.ErrBusy)
		}
		return err
	}
	if err := reserve(ctx, tx, c); err != nil {
		return err
	}
	return tx.Commit()
}

// targetKinds names, for each op that changes one thing, the kind of its
// target: the change's target is "KIND:ID".
var targetKinds = map[journal.Op]string{
	journal.PrincipalCreate.Op: "principal", journal.PrincipalDisable.Op: "principal", journal.EmergencyRestore.Op: "principal",
	journal.IssuerRegister.Op: "issuer", journal.AuthorizationRegister.Op: "authorization", journal.AuthorizationRevoke.Op: "authorization",
	journal.Ingest.Op: "object", journal.HoldSet.Op: "object", journal.HoldRelease.Op: "object", journal.Erase.Op: "object",
	journal.Breach.Op: "emergency", journal.Attest.Op: "emergency",
	journal.SystemRegister.Op: "system", journal.SystemVersion.Op: "system-version", journal.SystemRetire.Op: "system-version",
	journal.RunStart.Op: "run", journal.RunClose.Op: "run", journal.FlagCreate.Op: "flag", journal.FlagReview.Op: "review", journal.FlagAction.Op: "action",
	journal.ContestFile.Op: "contest", journal.ContestResolve.Op: "contest",
}

// changeTarget returns the id in c's target, checked against its op's
// kind ("" for an op without one), and, for an emergency, its index.
func changeTarget(c *journal.Change) (id string, index uint64, err error) {
	kind, ok := targetKinds[c.Op]
	if !ok {
		return "", 0, nil
	}
	if id, err = targetID(c, kind); err != nil {
		return "", 0, err
	}
	if kind == "emergency" {
		if index, err = strconv.ParseUint(id, 10, 64); err != nil {
			return "", 0, fmt.Errorf("sqlite: change %s: target %q: %w", c.Op, c.Target, err)
		}
	}
	return id, index, nil
}

func reserve(ctx context.Context, tx *sql.Tx, c *journal.Change) error {
	id, idx, err := changeTarget(c)
	if err != nil {
		return err
	}
	switch c.Op {
	case journal.PrincipalCreate.Op:
		p, err := payloadFor(c, "principal", func(p *journal.PrincipalPayload) string {
			return idOf(p.Principal, func(p *ombud.Principal) string { return p.ID })
		})
		if err != nil {
			return err
		}
		return insertPrincipal(ctx, tx, p.Principal)
	case journal.PrincipalDisable.Op, journal.EmergencyRestore.Op:
		var disabled bool
		var suspended sql.NullInt64
		err = tx.QueryRowContext(ctx, `SELECT disabled, emergency_suspended FROM principals WHERE id = ? AND pending = 0`, id).Scan(&disabled, &suspended)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("principal %s: %w", id, ombud.ErrNotFound)
		case err != nil:
			return err
		case c.Op == journal.PrincipalDisable.Op && disabled:
			return fmt.Errorf("principal %s: %w", id, ombud.ErrDisabled)
		case c.Op == journal.EmergencyRestore.Op && !suspended.Valid:
			return fmt.Errorf("principal %s: %w", id, ombud.ErrNotSuspended)
		}
		return nil
	case journal.IssuerRegister.Op:
		p, err := payloadFor(c, "issuer", func(p *journal.IssuerPayload) string {
			return idOf(p.Issuer, func(i *ombud.Issuer) string { return i.Name })
		})
		if err != nil {
			return err
		}
		i := p.Issuer
		_, err = tx.ExecContext(ctx, `INSERT INTO issuers (name, kind, jurisdiction, key, registered, log_index, pending) VALUES (?,?,?,?,?,0,1)`,
			i.Name, i.Kind, i.Jurisdiction, i.Key, ms(i.Registered))
		if isUnique(err) {
			return fmt.Errorf("issuer %s: %w", i.Name, ombud.ErrExists)
		}
		return err
	case journal.SystemRegister.Op:
		p, err := payloadFor(c, "system", func(p *journal.SystemPayload) string {
			return idOf(p.System, func(s *ombud.AnalyticSystem) string { return s.Name })
		})
		if err != nil {
			return err
		}
		return insertSystem(ctx, tx, p.System)
	case journal.SystemVersion.Op:
		p, err := payloadFor(c, "system-version", func(p *journal.VersionPayload) string {
			return idOf(p.Version, func(v *ombud.SystemVersion) string { return p.System + "/" + v.Version })
		})
		if err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM analytic_systems WHERE id = ? AND pending = 0`, p.System).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("system %s: %w", p.System, ombud.ErrNotFound)
		}
		return insertVersion(ctx, tx, p.System, p.Version)
	case journal.SystemRetire.Op:
		sys, ver, _ := strings.Cut(id, "/")
		var retired sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT retired FROM system_versions WHERE system_id = ? AND version = ? AND pending = 0`, sys, ver).Scan(&retired)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("system %s version %s: %w", sys, ver, ombud.ErrNotFound)
		case err != nil:
			return err
		case retired.Valid:
			return fmt.Errorf("system %s version %s: %w", sys, ver, ombud.ErrRetired)
		}
		// A run of the version being started is logged before the
		// retirement, or not at all.
		if busy, err := runStartsInFlight(ctx, tx, `system_id = ? AND version = ?`, sys, ver); err != nil || busy {
			return cmp.Or(err, fmt.Errorf("a run of system %s version %s is starting: %w", sys, ver, ombud.ErrBusy))
		}
		if busy, err := flagsInFlight(ctx, tx, `system_id = ? AND version = ?`, sys, ver); err != nil || busy {
			return cmp.Or(err, fmt.Errorf("a flag of system %s version %s is being raised: %w", sys, ver, ombud.ErrBusy))
		}
		return nil
	case journal.RunStart.Op:
		p, err := payloadFor(c, "run", func(p *journal.RunPayload) string {
			return idOf(p.Run, func(r *ombud.Run) string { return r.ID })
		})
		if err != nil {
			return err
		}
		return reserveRun(ctx, tx, p)
	case journal.RunClose.Op:
		if busy, err := flagsInFlight(ctx, tx, `run_id = ?`, id); err != nil || busy {
			return cmp.Or(err, fmt.Errorf("a flag of run %s is being raised: %w", id, ombud.ErrBusy))
		}
		return reserveRunClose(ctx, tx, id)
	case journal.FlagCreate.Op:
		p, err := payloadFor(c, "flag", func(p *journal.FlagPayload) string {
			return idOf(p.Flag, func(f *ombud.Flag) string { return f.ID })
		})
		if err != nil {
			return err
		}
		return reserveFlag(ctx, tx, p.Flag)
	case journal.FlagReview.Op:
		p, err := payloadFor(c, "review", func(p *journal.ReviewPayload) string {
			return idOf(p.Review, func(r *ombud.Review) string { return r.Flag + "/" + r.Reviewer })
		})
		if err != nil {
			return err
		}
		return reserveReview(ctx, tx, p.Review)
	case journal.FlagAction.Op:
		p, err := payloadFor(c, "action", func(p *journal.ActionPayload) string {
			return idOf(p.Action, func(a *ombud.Action) string { return a.ID })
		})
		if err != nil {
			return err
		}
		return reserveAction(ctx, tx, p)
	case journal.ContestFile.Op:
		p, err := payloadFor(c, "contest", func(p *journal.ContestPayload) string {
			return idOf(p.Contest, func(c *ombud.Contest) string { return c.ID })
		})
		if err != nil {
			return err
		}
		return reserveContest(ctx, tx, p.Contest)
	case journal.ContestResolve.Op:
		p, err := payloadFor(c, "contest", func(p *journal.ContestPayload) string {
			return idOf(p.Contest, func(c *ombud.Contest) string { return c.ID })
		})
		if err != nil {
			return err
		}
		return reserveContestResolve(ctx, tx, p.Contest)
	case journal.AuthorizationRegister.Op:
		p, err := payloadFor(c, "authorization", func(p *journal.AuthorizationPayload) string {
			return idOf(p.Authorization, func(a *ombud.RegisteredAuthorization) string { return a.ID })
		})
		if err != nil {
			return err
		}
		a := p.Authorization
		_, err = tx.ExecContext(ctx, `INSERT INTO authorizations (id, issuer, note, subjects_ps, max_uses, uses, registered, log_index, pending) VALUES (?,?,?,?,?,0,?,0,1)`,
			a.ID, a.Issuer, a.Note, strings.Join(a.SubjectPseudonyms, ","), a.MaxUses, ms(a.Registered))
		if isUnique(err) {
			return fmt.Errorf("authorization %s: %w", a.ID, ombud.ErrExists)
		}
		return err
	case journal.AuthorizationRevoke.Op:
		var revoked sql.NullInt64
		err = tx.QueryRowContext(ctx, `SELECT revoked FROM authorizations WHERE id = ? AND pending = 0`, id).Scan(&revoked)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("authorization %s: %w", id, ombud.ErrNotFound)
		case err != nil:
			return err
		case revoked.Valid:
			return fmt.Errorf("authorization %s: %w", id, ombud.ErrRevoked)
		}
		if busy, err := runStartsInFlight(ctx, tx, `authorization = ?`, id); err != nil || busy {
			return cmp.Or(err, fmt.Errorf("a run citing authorization %s is starting: %w", id, ombud.ErrBusy))
		}
		if busy, err := reviewPipelineInFlight(ctx, tx, id); err != nil || busy {
			return cmp.Or(err, fmt.Errorf("a flag, review or action of a run under authorization %s is being logged: %w", id, ombud.ErrBusy))
		}
		return nil
	case journal.Ingest.Op:
		p, err := payloadFor(c, "object", func(p *journal.ObjectPayload) string {
			return idOf(p.Object, func(o *ombud.Object) string { return o.ID })
		})
		if err != nil {
			return err
		}
		return insertObject(ctx, tx, p.Object)
	case journal.HoldSet.Op, journal.HoldRelease.Op, journal.Erase.Op:
		var ingested, erased, held bool
		err = tx.QueryRowContext(ctx, `SELECT ingest_index IS NOT NULL, erased_at IS NOT NULL, hold_reason IS NOT NULL FROM objects WHERE id = ?`, id).Scan(&ingested, &erased, &held)
		switch {
		case errors.Is(err, sql.ErrNoRows) || (err == nil && !ingested):
			return fmt.Errorf("object %s: %w", id, ombud.ErrNotFound)
		case err != nil:
			return err
		case erased:
			return fmt.Errorf("object %s: %w", id, ombud.ErrErased)
		case held && c.Op != journal.HoldRelease.Op:
			return fmt.Errorf("object %s: %w", id, ombud.ErrOnHold)
		case !held && c.Op == journal.HoldRelease.Op:
			return fmt.Errorf("object %s: %w", id, ombud.ErrNotOnHold)
		}
		if c.Op == journal.Erase.Op {
			// A run over it being started is logged before the erasure,
			// or refused.
			if busy, err := runStartsInFlight(ctx, tx, `id IN (SELECT run_id FROM run_objects WHERE object_id = ?)`, id); err != nil || busy {
				return cmp.Or(err, fmt.Errorf("a run over object %s is starting: %w", id, ombud.ErrBusy))
			}
		}
		return nil
	case journal.PolicySet.Op:
		var p journal.PolicyPayload
		if err := decode(c, &p); err != nil {
			return err
		}
		var v int
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM policy_versions`).Scan(&v); err != nil {
			return err
		}
		if v != p.Version-1 {
			return fmt.Errorf("policy version %d is recorded, not %d: %w", v, p.Version-1, ombud.ErrStale)
		}
		return nil
	case journal.Breach.Op, journal.Attest.Op:
		var covered sql.NullString
		var breach, attest sql.NullInt64
		err = tx.QueryRowContext(ctx, `SELECT covered_by, breach_index, attest_index FROM emergencies WHERE log_index = ?`, idx).Scan(&covered, &breach, &attest)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("emergency read %d: %w", idx, ombud.ErrNotFound)
		case err != nil:
			return err
		case c.Op == journal.Breach.Op && (covered.Valid || breach.Valid):
			return fmt.Errorf("emergency read %d is covered or breached already: %w", idx, ombud.ErrStale)
		case c.Op == journal.Attest.Op && !breach.Valid:
			return fmt.Errorf("emergency read %d has no breach: %w", idx, ombud.ErrNotFound)
		case c.Op == journal.Attest.Op && attest.Valid:
			return fmt.Errorf("the deletion of data derived from emergency read %d is attested already: %w", idx, ombud.ErrExists)
		}
		return nil
	case journal.KeyRotate.Op:
		var p journal.KeyPayload
		if err := decode(c, &p); err != nil {
			return err
		}
		var v int
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 1) FROM kek_versions`).Scan(&v); err != nil {
			return err
		}
		if p.Version <= v {
			return fmt.Errorf("KEK version %d is recorded already: %w", v, ombud.ErrStale)
		}
		return nil
	case journal.DetailsErase.Op:
		var p journal.DetailsPayload
		if err := decode(c, &p); err != nil {
			return err
		}
		var before int64
		err := tx.QueryRowContext(ctx, `SELECT before FROM detail_erasures WHERE kind = ?`, string(p.Kind)).Scan(&before)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if err == nil && p.Before.UnixMilli() <= before {
			return fmt.Errorf("%s details are erased up to %s already: %w", p.Kind, fromMS(before).Format(time.DateOnly), ombud.ErrStale)
		}
		return nil
	case journal.ReportPublish.Op, journal.EmergencyRead.Op:
		return nil
	}
	return fmt.Errorf("sqlite: unknown change op %q", c.Op)
}

// payloadFor decodes the payload of a registration c and checks that it
// names what c's target (prefix:id) names; id returns the payload's id, or
// "" when it holds nothing.
func payloadFor[P any](c *journal.Change, prefix string, id func(*P) string) (*P, error) {
	var p P
	if err := decode(c, &p); err != nil {
		return nil, err
	}
	got := id(&p)
	if want, err := targetID(c, prefix); err != nil || got == "" || got != want {
		return nil, fmt.Errorf("sqlite: %s target %q does not name the %s in its payload (%q)", c.Op, c.Target, prefix, got)
	}
	return &p, nil
}

// idOf returns id(v), or "" for a nil v.
func idOf[T any](v *T, id func(*T) string) string {
	if v == nil {
		return ""
	}
	return id(v)
}

// Commit implements store.Store.
func (s *Store) Commit(ctx context.Context, c *journal.Change, index uint64) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := forget(ctx, tx, c); err != nil {
		return err
	}
	shred, err := commit(ctx, tx, c, index)
	if err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if shred {
		// The keyset or the detail bytes may still sit in old WAL frames:
		// fold the WAL into the database (whose freed space secure_delete
		// zeroed) and truncate it. Best effort: a concurrent reader can
		// hold it back until the next one.
		s.w.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
	}
	return nil
}

// forget deletes the change's reservation; ErrNotFound if there is none.
func forget(ctx context.Context, tx *sql.Tx, c *journal.Change) error {
	res, err := tx.ExecContext(ctx, `DELETE FROM changes WHERE token = ?`, c.Token)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("change %s (%s %s): %w", c.Token, c.Op, c.Target, ombud.ErrNotFound)
	}
	return nil
}

// exactlyOne runs q and fails unless it changed one row: a reserved change
// whose target moved is a bug, not a race, since the reservation holds it.
func exactlyOne(ctx context.Context, tx *sql.Tx, c *journal.Change, q string, args ...any) error {
	res, err := tx.ExecContext(ctx, q, args...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("sqlite: committing %s on %s changed %d rows, want 1", c.Op, c.Target, n)
	}
	return nil
}

// commit applies c; it reports whether secret bytes were destroyed.
func commit(ctx context.Context, tx *sql.Tx, c *journal.Change, index uint64) (bool, error) {
	id, idx, err := changeTarget(c)
	if err != nil {
		return false, err
	}
	switch c.Op {
	case journal.PrincipalCreate.Op:
		return false, exactlyOne(ctx, tx, c, `UPDATE principals SET pending = 0, log_index = ? WHERE id = ? AND pending = 1`, index, id)
	case journal.PrincipalDisable.Op:
		return false, exactlyOne(ctx, tx, c, `UPDATE principals SET disabled = 1 WHERE id = ?`, id)
	case journal.EmergencyRestore.Op:
		return false, exactlyOne(ctx, tx, c, `UPDATE principals SET emergency_suspended = NULL WHERE id = ?`, id)
	case journal.IssuerRegister.Op:
		return false, exactlyOne(ctx, tx, c, `UPDATE issuers SET pending = 0, log_index = ? WHERE name = ? AND pending = 1`, index, id)
	case journal.AuthorizationRegister.Op:
		return false, exactlyOne(ctx, tx, c, `UPDATE authorizations SET pending = 0, log_index = ? WHERE id = ? AND pending = 1`, index, id)
	case journal.SystemRegister.Op:
		var sysID string
		if err := tx.QueryRowContext(ctx, `SELECT id FROM analytic_systems WHERE name = ? AND pending = 1`, id).Scan(&sysID); err != nil {
			return false, fmt.Errorf("sqlite: committing %s on %s: %w", c.Op, c.Target, err)
		}
		if err := exactlyOne(ctx, tx, c, `UPDATE analytic_systems SET pending = 0, log_index = ? WHERE id = ?`, index, sysID); err != nil {
			return false, err
		}
		return false, exactlyOne(ctx, tx, c, `UPDATE system_versions SET pending = 0, log_index = ? WHERE system_id = ? AND pending = 1`, index, sysID)
	case journal.SystemVersion.Op:
		sys, ver, _ := strings.Cut(id, "/")
		return false, exactlyOne(ctx, tx, c, `UPDATE system_versions SET pending = 0, log_index = ? WHERE system_id = ? AND version = ? AND pending = 1`, index, sys, ver)
	case journal.SystemRetire.Op:
		var p journal.VersionPayload
		if err := decode(c, &p); err != nil {
			return false, err
		}
		sys, ver, _ := strings.Cut(id, "/")
		return false, exactlyOne(ctx, tx, c, `UPDATE system_versions SET retired = ?, retire_index = ? WHERE system_id = ? AND version = ? AND retired IS NULL`, ms(p.At), index, sys, ver)
	case journal.RunStart.Op:
		return false, exactlyOne(ctx, tx, c, `UPDATE runs SET pending = 0, log_index = ? WHERE id = ? AND pending = 1`, index, id)
	case journal.FlagCreate.Op:
		return false, exactlyOne(ctx, tx, c, `UPDATE flags SET pending = 0, log_index = ? WHERE id = ? AND pending = 1`, index, id)
	case journal.FlagAction.Op:
		return false, exactlyOne(ctx, tx, c, `UPDATE actions SET pending = 0, log_index = ? WHERE id = ? AND pending = 1`, index, id)
	case journal.ContestFile.Op:
		return false, exactlyOne(ctx, tx, c, `UPDATE contests SET pending = 0, log_index = ? WHERE id = ? AND pending = 1`, index, id)
	case journal.ContestResolve.Op:
		var p journal.ContestPayload
		if err := decode(c, &p); err != nil {
			return false, err
		}
		if p.Contest == nil || (p.Contest.Outcome != ombud.ContestUpheld && p.Contest.Outcome != ombud.ContestOverturned) {
			return false, fmt.Errorf("sqlite: change %s: no outcome", c.Op)
		}
		return false, exactlyOne(ctx, tx, c, `UPDATE contests SET outcome = ?, resolved = ?, resolved_by = ?, resolve_index = ?, resolution_ms = ?, resolution = ?
			WHERE id = ? AND outcome IS NULL`,
			p.Contest.Outcome, ms(p.Contest.Resolved), p.Contest.ResolvedBy, index, nullMS(p.Contest.Resolution.Time), nullString(p.Contest.Resolution.Commitment), id)
	case journal.FlagReview.Op:
		flag, reviewer, _ := strings.Cut(id, "/")
		return false, exactlyOne(ctx, tx, c, `UPDATE reviews SET pending = 0, log_index = ? WHERE flag_id = ? AND reviewer = ? AND pending = 1`, index, flag, reviewer)
	case journal.RunClose.Op:
		var p journal.RunClosePayload
		if err := decode(c, &p); err != nil {
			return false, err
		}
		return false, exactlyOne(ctx, tx, c, `UPDATE runs SET closed = ?, close_index = ?, close_reason = ?, read_objects = ?, read_bytes = ? WHERE id = ? AND closed IS NULL`,
			ms(p.At), index, p.Reason, p.Read, p.Bytes, id)
	case journal.AuthorizationRevoke.Op:
		var p journal.RevokePayload
		if err := decode(c, &p); err != nil {
			return false, err
		}
		return false, exactlyOne(ctx, tx, c, `UPDATE authorizations SET revoked = ?, revoke_reason = ?, revoke_index = ? WHERE id = ? AND revoked IS NULL`,
			ms(p.At), p.Reason, index, id)
	case journal.Ingest.Op:
		return false, exactlyOne(ctx, tx, c, `UPDATE objects SET ingest_index = ? WHERE id = ? AND ingest_index IS NULL`, index, id)
	case journal.HoldSet.Op:
		var p journal.HoldPayload
		if err := decode(c, &p); err != nil || p.Hold == nil {
			return false, fmt.Errorf("sqlite: %s without a hold: %v", c.Op, err)
		}
		h := p.Hold
		return false, exactlyOne(ctx, tx, c, `UPDATE objects SET hold_reason = ?, hold_auth = ?, hold_since = ?, hold_by = ? WHERE id = ? AND hold_reason IS NULL AND erased_at IS NULL`,
			h.Reason, h.Authorization, ms(h.Since), h.By, id)
	case journal.HoldRelease.Op:
		return false, exactlyOne(ctx, tx, c, `UPDATE objects SET hold_reason = NULL, hold_auth = NULL, hold_since = NULL, hold_by = NULL WHERE id = ? AND hold_reason IS NOT NULL`, id)
	case journal.Erase.Op:
		var p journal.ErasePayload
		if err := decode(c, &p); err != nil {
			return false, err
		}
		var dms sql.NullInt64
		var dc sql.NullString
		if err := tx.QueryRowContext(ctx, `SELECT ingest_detail_ms, ingest_detail FROM objects WHERE id = ?`, id).Scan(&dms, &dc); err != nil {
			return false, err
		}
		// A held object is never shredded, whatever the caller checked.
		// The ingest's source is free text, and goes with the object.
		if err := exactlyOne(ctx, tx, c, `UPDATE objects SET wrapped_keyset = NULL, source = '', erased_reason = ?, erased_at = ?, erase_index = ? WHERE id = ? AND hold_reason IS NULL AND erased_at IS NULL`,
			p.Reason, ms(p.At), index, id); err != nil {
			return false, err
		}
		if dms.Valid && dc.Valid {
			if _, err := eraseDetail(ctx, tx, ombud.DetailKey{Time: fromMS(dms.Int64), Commitment: dc.String}); err != nil && !errors.Is(err, ombud.ErrNotFound) {
				return false, err
			}
		}
		return true, nil
	case journal.PolicySet.Op:
		var p journal.PolicyPayload
		if err := decode(c, &p); err != nil {
			return false, err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO policy_versions (version, sha256, loaded, log_index) VALUES (?,?,?,?)`, p.Version, p.SHA, ms(time.Now()), index)
		return false, err
	case journal.Breach.Op:
		var p journal.BreachPayload
		if err := decode(c, &p); err != nil {
			return false, err
		}
		if err := exactlyOne(ctx, tx, c, `UPDATE emergencies SET breach_index = ? WHERE log_index = ? AND breach_index IS NULL`, index, idx); err != nil {
			return false, err
		}
		_, err = tx.ExecContext(ctx, `UPDATE principals SET emergency_suspended = ? WHERE id = ?`, index, p.Principal)
		return false, err
	case journal.Attest.Op:
		return false, exactlyOne(ctx, tx, c, `UPDATE emergencies SET attest_index = ? WHERE log_index = ? AND attest_index IS NULL`, index, idx)
	case journal.DetailsErase.Op:
		var p journal.DetailsPayload
		if err := decode(c, &p); err != nil {
			return false, err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO detail_erasures (kind, before, log_index) VALUES (?,?,?) ON CONFLICT (kind) DO UPDATE SET before = excluded.before, log_index = excluded.log_index`,
			string(p.Kind), p.Before.UnixMilli(), index); err != nil {
			return false, err
		}
		_, err := eraseDetailsBefore(ctx, tx, p.Kind, p.Before)
		return true, err
	case journal.KeyRotate.Op:
		var p journal.KeyPayload
		if err := decode(c, &p); err != nil {
			return false, err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO kek_versions (version, log_index) VALUES (?,?)`, p.Version, index)
		return false, err
	case journal.EmergencyRead.Op:
		var p journal.EmergencyPayload
		if err := decode(c, &p); err != nil || p.Emergency == nil {
			return false, fmt.Errorf("sqlite: %s without an emergency read: %v", c.Op, err)
		}
		e := p.Emergency
		_, err := tx.ExecContext(ctx, `INSERT INTO emergencies (log_index, object_id, principal, purpose, reason, at, deadline) VALUES (?,?,?,?,?,?,?)`,
			index, e.ObjectID, e.Principal, e.Purpose, e.Reason, ms(e.At), ms(e.Deadline))
		return false, err
	case journal.ReportPublish.Op:
		return false, nil
	}
	return false, fmt.Errorf("sqlite: unknown change op %q", c.Op)
}

// Undo implements store.Store.
func (s *Store) Undo(ctx context.Context, c *journal.Change) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := forget(ctx, tx, c); err != nil {
		return err
	}
	var q string
	switch c.Op {
	case journal.PrincipalCreate.Op:
		q = `DELETE FROM principals WHERE id = ? AND pending = 1`
	case journal.IssuerRegister.Op:
		q = `DELETE FROM issuers WHERE name = ? AND pending = 1`
	case journal.AuthorizationRegister.Op:
		q = `DELETE FROM authorizations WHERE id = ? AND pending = 1`
	case journal.SystemRegister.Op:
		_, name, _ := strings.Cut(c.Target, ":")
		if _, err := tx.ExecContext(ctx, `DELETE FROM system_versions WHERE pending = 1 AND system_id IN (SELECT id FROM analytic_systems WHERE name = ? AND pending = 1)`, name); err != nil {
			return err
		}
		q = `DELETE FROM analytic_systems WHERE name = ? AND pending = 1`
	case journal.SystemVersion.Op:
		_, id, _ := strings.Cut(c.Target, ":")
		sys, ver, _ := strings.Cut(id, "/")
		if _, err := tx.ExecContext(ctx, `DELETE FROM system_versions WHERE system_id = ? AND version = ? AND pending = 1`, sys, ver); err != nil {
			return err
		}
	case journal.Ingest.Op:
		q = `DELETE FROM objects WHERE id = ? AND ingest_index IS NULL`
	case journal.FlagCreate.Op:
		q = `DELETE FROM flags WHERE id = ? AND pending = 1`
	case journal.FlagAction.Op:
		q = `DELETE FROM actions WHERE id = ? AND pending = 1`
	case journal.ContestFile.Op:
		q = `DELETE FROM contests WHERE id = ? AND pending = 1`
	case journal.FlagReview.Op:
		_, id, _ := strings.Cut(c.Target, ":")
		flag, reviewer, _ := strings.Cut(id, "/")
		if _, err := tx.ExecContext(ctx, `DELETE FROM reviews WHERE flag_id = ? AND reviewer = ? AND pending = 1`, flag, reviewer); err != nil {
			return err
		}
	case journal.RunStart.Op:
		_, id, _ := strings.Cut(c.Target, ":")
		// Give back the use its reservation took.
		if _, err := tx.ExecContext(ctx, `UPDATE authorizations SET uses = uses - 1 WHERE uses > 0 AND id = (SELECT authorization FROM runs WHERE id = ? AND pending = 1)`, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM run_objects WHERE run_id IN (SELECT id FROM runs WHERE id = ? AND pending = 1)`, id); err != nil {
			return err
		}
		q = `DELETE FROM runs WHERE id = ? AND pending = 1`
	}
	if q != "" {
		_, id, _ := strings.Cut(c.Target, ":")
		if _, err := tx.ExecContext(ctx, q, id); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// Changes implements store.Store.
func (s *Store) Changes(ctx context.Context, since time.Time) ([]*journal.Change, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT token, op, target, leaf, from_size, created, payload FROM changes WHERE created < ? ORDER BY created, token`, ms(since))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*journal.Change
	for rows.Next() {
		var c journal.Change
		var op string
		var created int64
		if err := rows.Scan(&c.Token, &op, &c.Target, &c.Leaf, &c.From, &created, &c.Payload); err != nil {
			return nil, err
		}
		c.Op, c.Created = journal.Op(op), fromMS(created)
		out = append(out, &c)
	}
	return out, rows.Err()
}

func decode(c *journal.Change, v any) error {
	if err := json.Unmarshal(c.Payload, v); err != nil {
		return fmt.Errorf("change %s (%s): bad payload: %w", c.Token, c.Op, err)
	}
	return nil
}
