package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/journal"
)

var principalCreate = func() operation[journal.PrincipalPayload] {
	o := registration(journal.PrincipalCreate, "principals", "id", func(ctx context.Context, tx *sql.Tx, p *journal.PrincipalPayload) error {
		return insertPrincipal(ctx, tx, p.Principal)
	})
	// Creating another admin, or the oversight body's principal, is
	// privileged; any other principal is not.
	o.privileged = func(_ context.Context, _ *sql.Tx, p *journal.PrincipalPayload) (string, error) {
		if p.Principal != nil && ombud.GrantsPrivilege(p.Principal.Roles) {
			return ombud.OpAdminCreate, nil
		}
		return "", nil
	}
	return o
}()

var principalDisable = operation[journal.None]{Operation: journal.PrincipalDisable,
	reserve: func(ctx context.Context, tx *sql.Tx, id string, _ *journal.None) error {
		p, err := principalState(ctx, tx, id)
		if err == nil && p.disabled {
			return fmt.Errorf("principal %s: %w", id, ombud.ErrDisabled)
		}
		if err != nil {
			return err
		}
		// No admin is disabled below what the quorum asks: one admin
		// could otherwise lock every privileged operation for good.
		q, err := quorumIn(ctx, tx)
		if err != nil || !q.Enabled {
			return err
		}
		admins, err := enabledAdmins(ctx, tx) // this one's disabling in flight is left out
		if err != nil {
			return err
		}
		if op, need := q.Most(); admins < need {
			var roles string
			if err := tx.QueryRowContext(ctx, `SELECT roles FROM principals WHERE id = $1`, id).Scan(&roles); err != nil {
				return err
			}
			if slices.Contains(strings.Split(roles, ","), string(ombud.RoleAdmin)) {
				return &ombud.Error{Code: ombud.CodeConflict, Reason: "quorum_unreachable",
					Message: fmt.Sprintf("disabling admin %s would leave %d enabled admins, fewer than the %d the quorum asks of %s: create another admin first, or lower the quorum", id, admins, need, op)}
			}
		}
		return nil
	},
	commit: func(ctx context.Context, tx *sql.Tx, id string, _ *journal.None, _ uint64) error {
		return exactlyOne(ctx, tx, `UPDATE principals SET disabled = 1 WHERE id = $1`, id)
	},
	undo: nothingToUndo[journal.None],
}

var emergencyRestore = operation[journal.None]{Operation: journal.EmergencyRestore, privileged: always[journal.None](ombud.OpEmergencyRestore),
	reserve: func(ctx context.Context, tx *sql.Tx, id string, _ *journal.None) error {
		p, err := principalState(ctx, tx, id)
		if err == nil && !p.suspended {
			return fmt.Errorf("principal %s: %w", id, ombud.ErrNotSuspended)
		}
		return err
	},
	commit: func(ctx context.Context, tx *sql.Tx, id string, _ *journal.None, _ uint64) error {
		return exactlyOne(ctx, tx, `UPDATE principals SET emergency_suspended = NULL WHERE id = $1`, id)
	},
	undo: nothingToUndo[journal.None],
}

// principalState reads what a change to a logged principal checks;
// ErrNotFound if there is none.
// enabledAdmins counts the enabled admins, less those whose disabling is
// in flight.
func enabledAdmins(ctx context.Context, tx *sql.Tx) (int, error) {
	leaving := map[string]bool{}
	rows, err := tx.QueryContext(ctx, `SELECT target FROM changes WHERE op = $1`, string(journal.PrincipalDisable.Op))
	if err != nil {
		return 0, err
	}
	for rows.Next() {
		var target string
		if err := rows.Scan(&target); err != nil {
			rows.Close()
			return 0, err
		}
		leaving[target] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	rows, err = tx.QueryContext(ctx, `SELECT id, roles FROM principals WHERE disabled = 0 AND pending = 0`)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id, roles string
		if err := rows.Scan(&id, &roles); err != nil {
			return 0, err
		}
		if slices.Contains(strings.Split(roles, ","), string(ombud.RoleAdmin)) && !leaving[journal.PrincipalDisable.Target(id)] {
			n++
		}
	}
	return n, rows.Err()
}

func principalState(ctx context.Context, tx *sql.Tx, id string) (state struct{ disabled, suspended bool }, err error) {
	var suspended sql.NullInt64
	err = tx.QueryRowContext(ctx, `SELECT disabled, emergency_suspended FROM principals WHERE id = $1 AND pending = 0`, id).Scan(&state.disabled, &suspended)
	if errors.Is(err, sql.ErrNoRows) {
		return state, fmt.Errorf("principal %s: %w", id, ombud.ErrNotFound)
	}
	state.suspended = suspended.Valid
	return state, err
}

const principalCols = `id, name, roles, token_hash, created, disabled, emergency_suspended, system_id`

func insertPrincipal(ctx context.Context, tx *sql.Tx, p *ombud.Principal) error {
	roles := make([]string, len(p.Roles))
	for i, r := range p.Roles {
		roles[i] = string(r)
	}
	var system sql.NullString
	if p.System != "" {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM analytic_systems WHERE id = $1 AND pending = 0`, p.System).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("system %s: %w", p.System, ombud.ErrNotFound)
		}
		system = sql.NullString{String: p.System, Valid: true}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO principals (id, name, roles, token_hash, created, disabled, system_id, pending) VALUES ($1, $2, $3, $4, $5, $6, $7, 1)`,
		p.ID, p.Name, strings.Join(roles, ","), p.TokenHash, p.Created.UTC().Format(timeFormat), flag(p.Disabled), system)
	if isUnique(err) {
		return fmt.Errorf("principal %s: %w", p.ID, ombud.ErrExists)
	}
	return err
}

func scanPrincipal(row scanner) (*ombud.Principal, error) {
	var p ombud.Principal
	var roles, created string
	var suspended sql.NullInt64
	var system sql.NullString
	if err := row.Scan(&p.ID, &p.Name, &roles, &p.TokenHash, &created, &p.Disabled, &suspended, &system); err != nil {
		return nil, err
	}
	p.System = system.String
	p.EmergencySuspended = uint64(suspended.Int64)
	for _, r := range strings.Split(roles, ",") {
		if r != "" {
			p.Roles = append(p.Roles, ombud.Role(r))
		}
	}
	t, err := time.Parse(timeFormat, created)
	if err != nil {
		return nil, fmt.Errorf("principal %s: bad created time: %w", p.ID, err)
	}
	p.Created = t
	return &p, nil
}

func (s *Store) Principal(ctx context.Context, id string) (*ombud.Principal, error) {
	p, err := scanPrincipal(s.principalStmt.QueryRowContext(ctx, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("principal %s: %w", id, ombud.ErrNotFound)
	}
	return p, err
}

func (s *Store) Principals(ctx context.Context) ([]*ombud.Principal, error) {
	return queryAll(ctx, s.r, scanPrincipal, `SELECT `+principalCols+` FROM principals WHERE pending = 0 ORDER BY created, id`)
}

// scanner is a row being read.
type scanner interface{ Scan(...any) error }

// queryAll runs q on db and scans every row with scan.

// principalOperations lists this file's operations, for the table in operations.go.
var principalOperations = []op{principalCreate, principalDisable, emergencyRestore}

// flag stores a bool as the 0 or 1 that both engines' integer columns
// hold.
func flag(b bool) int {
	if b {
		return 1
	}
	return 0
}
