package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/ombud/ombud"
)

func insertSystem(ctx context.Context, tx *sql.Tx, s *ombud.AnalyticSystem) error {
	if len(s.Versions) != 1 {
		return fmt.Errorf("sqlite: system %s registers with %d versions, want its first", s.Name, len(s.Versions))
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO analytic_systems (id, name, vendor, task, classes, impact_assessment, contract, registered, log_index, pending) VALUES (?,?,?,?,?,?,?,?,0,1)`,
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
	_, err = tx.ExecContext(ctx, `INSERT INTO system_versions (system_id, version, model, accuracy, registered, log_index, pending) VALUES (?,?,?,?,?,0,1)`,
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
	out, err := s.systems(ctx, `SELECT id, name, vendor, task, classes, impact_assessment, contract, registered, log_index FROM analytic_systems WHERE pending = 0 AND id = ?`, id)
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
			return nil, errors.Join(fmt.Errorf("sqlite: system %s version %s: accuracy", sys, v.Version), err)
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
