package sqldb

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/journal"
)

func insertSystem(ctx context.Context, tx *sql.Tx, s *ombud.AnalyticSystem) error {
	if len(s.Versions) != 1 {
		return fmt.Errorf("store: system %s registers with %d versions, want its first", s.Name, len(s.Versions))
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO analytic_systems (id, name, vendor, task, classes, impact_assessment, contract, registered, log_index, pending) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,0,1)`,
		s.ID, s.Name, s.Vendor, s.Task, strings.Join(s.Classes, ","), s.ImpactAssessment, s.Contract, ms(s.Registered))
	if isUnique(err) {
		return fmt.Errorf("system %s: %w", s.Name, ombud.ErrExists)
	}
	if err != nil {
		return err
	}
	return insertVersion(ctx, tx, s.ID, s.Versions[0])
}

func insertVersion(ctx context.Context, tx *sql.Tx, system string, v *ombud.SystemVersion) error {
	acc, err := json.Marshal(v.Accuracy)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO system_versions (system_id, version, model, accuracy, registered, log_index, pending) VALUES ($1,$2,$3,$4,$5,0,1)`,
		system, v.Version, v.Model, string(acc), ms(v.Registered))
	if isUnique(err) {
		return fmt.Errorf("system %s version %s: %w", system, v.Version, ombud.ErrExists)
	}
	return err
}

// AnalyticSystems implements ombud.SystemStore.
func (s *Store) AnalyticSystems(ctx context.Context) ([]*ombud.AnalyticSystem, error) {
	return s.systems(ctx, `SELECT id, name, vendor, task, classes, impact_assessment, contract, registered, log_index FROM analytic_systems WHERE pending = 0 ORDER BY name`)
}

// AnalyticSystem implements ombud.SystemStore.
func (s *Store) AnalyticSystem(ctx context.Context, id string) (*ombud.AnalyticSystem, error) {
	out, err := s.systems(ctx, `SELECT id, name, vendor, task, classes, impact_assessment, contract, registered, log_index FROM analytic_systems WHERE pending = 0 AND id = $1`, id)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("system %s: %w", id, ombud.ErrNotFound)
	}
	return out[0], nil
}

func (s *Store) systems(ctx context.Context, q string, args ...any) ([]*ombud.AnalyticSystem, error) {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	var out []*ombud.AnalyticSystem
	byID := map[string]*ombud.AnalyticSystem{}
	for rows.Next() {
		var a ombud.AnalyticSystem
		var classes string
		var reg int64
		if err := rows.Scan(&a.ID, &a.Name, &a.Vendor, &a.Task, &classes, &a.ImpactAssessment, &a.Contract, &reg, &a.Index); err != nil {
			rows.Close()
			return nil, err
		}
		a.Classes, a.Registered = strings.Split(classes, ","), fromMS(reg)
		out = append(out, &a)
		byID[a.ID] = &a
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, nil
	}
	vrows, err := s.r.QueryContext(ctx, `SELECT system_id, version, model, accuracy, registered, log_index, retired, retire_index FROM system_versions WHERE pending = 0 ORDER BY registered, version`)
	if err != nil {
		return nil, err
	}
	defer vrows.Close()
	for vrows.Next() {
		var sys, acc string
		var v ombud.SystemVersion
		var reg int64
		var retired, retireIdx sql.NullInt64
		if err := vrows.Scan(&sys, &v.Version, &v.Model, &acc, &reg, &v.Index, &retired, &retireIdx); err != nil {
			return nil, err
		}
		a := byID[sys]
		if a == nil {
			continue
		}
		if err := json.Unmarshal([]byte(acc), &v.Accuracy); err != nil {
			return nil, errors.Join(fmt.Errorf("store: system %s version %s: accuracy", sys, v.Version), err)
		}
		v.Registered = fromMS(reg)
		if retired.Valid {
			t := fromMS(retired.Int64)
			v.Retired, v.RetireIdx = &t, uint64(retireIdx.Int64)
		}
		a.Versions = append(a.Versions, &v)
	}
	return out, vrows.Err()
}

// systemRegister registers a system with its first version; its target
// is the system's name, its rows are keyed by its id.
var systemRegister = operation[journal.SystemPayload]{Operation: journal.SystemRegister, privileged: always[journal.SystemPayload](ombud.OpSystemRegister),
	reserve: func(ctx context.Context, tx *sql.Tx, _ string, p *journal.SystemPayload) error {
		return insertSystem(ctx, tx, p.System)
	},
	commit: func(ctx context.Context, tx *sql.Tx, name string, _ *journal.SystemPayload, index uint64) error {
		var id string
		if err := tx.QueryRowContext(ctx, `SELECT id FROM analytic_systems WHERE name = $1 AND pending = 1`, name).Scan(&id); err != nil {
			return err
		}
		if err := exactlyOne(ctx, tx, `UPDATE analytic_systems SET pending = 0, log_index = $1 WHERE id = $2`, index, id); err != nil {
			return err
		}
		return exactlyOne(ctx, tx, `UPDATE system_versions SET pending = 0, log_index = $1 WHERE system_id = $2 AND pending = 1`, index, id)
	},
	undo: func(ctx context.Context, tx *sql.Tx, name string, _ *journal.SystemPayload) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM system_versions WHERE pending = 1 AND system_id IN (SELECT id FROM analytic_systems WHERE name = $1 AND pending = 1)`, name); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM analytic_systems WHERE name = $1 AND pending = 1`, name)
		return err
	},
}

var systemVersion = operation[journal.VersionPayload]{Operation: journal.SystemVersion, privileged: always[journal.VersionPayload](ombud.OpSystemVersion),
	reserve: func(ctx context.Context, tx *sql.Tx, _ string, p *journal.VersionPayload) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM analytic_systems WHERE id = $1 AND pending = 0`, p.System).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("system %s: %w", p.System, ombud.ErrNotFound)
		}
		return insertVersion(ctx, tx, p.System, p.Version)
	},
	commit: func(ctx context.Context, tx *sql.Tx, _ string, p *journal.VersionPayload, index uint64) error {
		return exactlyOne(ctx, tx, `UPDATE system_versions SET pending = 0, log_index = $1 WHERE system_id = $2 AND version = $3 AND pending = 1`, index, p.System, p.Version.Version)
	},
	undo: func(ctx context.Context, tx *sql.Tx, id string, _ *journal.VersionPayload) error {
		sys, ver, _ := strings.Cut(id, "/")
		_, err := tx.ExecContext(ctx, `DELETE FROM system_versions WHERE system_id = $1 AND version = $2 AND pending = 1`, sys, ver)
		return err
	},
}

// systemRetire waits for the runs of the version being started and its
// flags being raised: each is logged before the retirement, or not at
// all.
var systemRetire = operation[journal.VersionPayload]{Operation: journal.SystemRetire,
	reserve: func(ctx context.Context, tx *sql.Tx, _ string, p *journal.VersionPayload) error {
		sys, ver := p.System, p.Version.Version
		var retired sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT retired FROM system_versions WHERE system_id = $1 AND version = $2 AND pending = 0`, sys, ver).Scan(&retired)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("system %s version %s: %w", sys, ver, ombud.ErrNotFound)
		case err != nil:
			return err
		case retired.Valid:
			return fmt.Errorf("system %s version %s: %w", sys, ver, ombud.ErrRetired)
		}
		if busy, err := runStartsInFlight(ctx, tx, `system_id = $1 AND version = $2`, sys, ver); err != nil || busy {
			return cmp.Or(err, fmt.Errorf("a run of system %s version %s is starting: %w", sys, ver, ombud.ErrBusy))
		}
		if busy, err := flagsInFlight(ctx, tx, `system_id = $1 AND version = $2`, sys, ver); err != nil || busy {
			return cmp.Or(err, fmt.Errorf("a flag of system %s version %s is being raised: %w", sys, ver, ombud.ErrBusy))
		}
		return nil
	},
	commit: func(ctx context.Context, tx *sql.Tx, _ string, p *journal.VersionPayload, index uint64) error {
		return exactlyOne(ctx, tx, `UPDATE system_versions SET retired = $1, retire_index = $2 WHERE system_id = $3 AND version = $4 AND retired IS NULL`,
			ms(p.At), index, p.System, p.Version.Version)
	},
	undo: nothingToUndo[journal.VersionPayload],
}

// systemOperations lists this file's operations, for the table in operations.go.
var systemOperations = []op{systemRegister, systemVersion, systemRetire}
