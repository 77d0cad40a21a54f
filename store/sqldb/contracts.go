package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/journal"
)

const contractCols = `ocid, n, release_id, body, sha256, title, buyer, vendor, intermediaries, flags, missing, unexplained, upstream, amount, currency, registered, log_index, import_index`

func joinCodes(v []string) string { return strings.Join(v, ",") }

func splitCodes(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func scanContract(row scanner) (*ombud.Contract, error) {
	var c ombud.Contract
	var body, inter, flags, missing, unexpl, up string
	var reg int64
	if err := row.Scan(&c.OCID, &c.N, &c.ReleaseID, &body, &c.SHA256, &c.Title, &c.Buyer, &c.Vendor, &inter, &flags, &missing, &unexpl, &up,
		&c.Amount, &c.Currency, &reg, &c.Index, &c.Import); err != nil {
		return nil, err
	}
	c.Release, c.Registered = []byte(body), fromMS(reg)
	c.Intermediaries, c.Flags, c.Missing, c.Unexplained, c.Upstream = splitCodes(inter), splitCodes(flags), splitCodes(missing), splitCodes(unexpl), splitCodes(up)
	return &c, nil
}

// Contracts implements ombud.ContractStore.
func (s *Store) Contracts(ctx context.Context) ([]*ombud.Contract, error) {
	return queryAll(ctx, s.r, scanContract, `SELECT `+contractCols+` FROM contract_releases r WHERE pending = 0
		AND n = (SELECT max(n) FROM contract_releases l WHERE l.ocid = r.ocid AND l.pending = 0) ORDER BY ocid`)
}

// ContractReleases implements ombud.ContractStore.
func (s *Store) ContractReleases(ctx context.Context, ocid string) ([]*ombud.Contract, error) {
	if ocid == "" {
		return queryAll(ctx, s.r, scanContract, `SELECT `+contractCols+` FROM contract_releases WHERE pending = 0 ORDER BY ocid, n`)
	}
	out, err := queryAll(ctx, s.r, scanContract, `SELECT `+contractCols+` FROM contract_releases WHERE pending = 0 AND ocid = $1 ORDER BY n`, ocid)
	if err == nil && len(out) == 0 {
		return nil, fmt.Errorf("contract %s: %w", ocid, ombud.ErrNotFound)
	}
	return out, err
}

// ContractsVersion implements ombud.ContractStore: releases are only ever
// added, so their count and the latest entry name the registry's state.
func (s *Store) ContractsVersion(ctx context.Context) (string, error) {
	var n, last int64
	if err := s.r.QueryRowContext(ctx, `SELECT count(*), COALESCE(max(import_index), 0) FROM contract_releases WHERE pending = 0`).Scan(&n, &last); err != nil {
		return "", err
	}
	return fmt.Sprintf("%d@%d", n, last), nil
}

// insertContract records a release pending, as change id's.
func insertContract(ctx context.Context, tx *sql.Tx, id string, c *ombud.Contract) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO contract_releases (ocid, n, release_id, body, sha256, title, buyer, vendor, intermediaries, flags, missing, unexplained, upstream, amount, currency, registered, import_id, log_index, import_index, pending)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,0,0,1)`,
		c.OCID, c.N, c.ReleaseID, string(c.Release), c.SHA256, c.Title, c.Buyer, c.Vendor, joinCodes(c.Intermediaries), joinCodes(c.Flags),
		joinCodes(c.Missing), joinCodes(c.Unexplained), joinCodes(c.Upstream), c.Amount, c.Currency, ms(c.Registered), id)
	if isUnique(err) {
		return fmt.Errorf("contract %s release %s: %w", c.OCID, c.ReleaseID, ombud.ErrExists)
	}
	return err
}

// checkChains refuses the contracts from, just reserved, when the supply
// chains linked through their upstream contracts loop through one of
// them. A contract's links are those of its latest committed release and
// of any release pending, so that two changes reserved one after the
// other see each other's links, and a pending amendment that is undone
// cannot leave a loop behind it.
func checkChains(ctx context.Context, tx *sql.Tx, from []string) error {
	rows, err := tx.QueryContext(ctx, `SELECT ocid, upstream FROM contract_releases r WHERE upstream <> ''
		AND (pending = 1 OR n = (SELECT max(n) FROM contract_releases l WHERE l.ocid = r.ocid AND l.pending = 0))`)
	if err != nil {
		return err
	}
	up := map[string][]string{}
	for rows.Next() {
		var ocid, u string
		if err := rows.Scan(&ocid, &u); err != nil {
			rows.Close()
			return err
		}
		up[ocid] = append(up[ocid], splitCodes(u)...)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if loop := findLoop(up, from); loop != nil {
		return &ombud.Error{Code: ombud.CodeInvalid, Reason: "circular_chain",
			Message: "the contracts' supply chains are circular: " + strings.Join(loop, " → ") + " (each names the next as its upstream contract)"}
	}
	return nil
}

// findLoop returns a cycle of the graph up reachable from one of from,
// or nil.
func findLoop(up map[string][]string, from []string) []string {
	const (
		unseen = iota
		open
		done
	)
	state := map[string]int{}
	var path []string
	var visit func(n string) []string
	visit = func(n string) []string {
		switch state[n] {
		case open:
			for i, p := range path {
				if p == n {
					return append(append([]string{}, path[i:]...), n)
				}
			}
		case done:
			return nil
		}
		state[n] = open
		path = append(path, n)
		for _, m := range up[n] {
			if loop := visit(m); loop != nil {
				return loop
			}
		}
		path = path[:len(path)-1]
		state[n] = done
		return nil
	}
	// In a fixed order, so that the same loop is named every time.
	for _, k := range slices.Sorted(slices.Values(from)) {
		if loop := visit(k); loop != nil {
			return loop
		}
	}
	return nil
}

// contractImport registers contracts, all or none: their rows are
// reserved together, a second registration of an ocid is refused here
// (ombud.ErrExists), and so is a loop among the chains.
var contractImport = operation[journal.ContractImportPayload]{Operation: journal.ContractImport,
	reserve: func(ctx context.Context, tx *sql.Tx, id string, p *journal.ContractImportPayload) error {
		if len(p.Contracts) == 0 || len(p.Leaves) != len(p.Contracts) {
			return fmt.Errorf("store: import %s holds %d contracts and %d leaves", id, len(p.Contracts), len(p.Leaves))
		}
		for _, c := range p.Contracts {
			if c.N != 1 {
				return fmt.Errorf("store: import %s: contract %s is release %d, want 1", id, c.OCID, c.N)
			}
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM contract_releases WHERE ocid = $1`, c.OCID).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return fmt.Errorf("contract %s: %w", c.OCID, ombud.ErrExists)
			}
			if err := insertContract(ctx, tx, id, c); err != nil {
				return err
			}
		}
		ocids := make([]string, len(p.Contracts))
		for i, c := range p.Contracts {
			ocids[i] = c.OCID
		}
		return checkChains(ctx, tx, ocids)
	},
	commit: func(ctx context.Context, tx *sql.Tx, id string, p *journal.ContractImportPayload, index uint64) error {
		// The register entries' indices are known to the service that
		// logged them, or found by recovery (contracts.Service.Committer);
		// a commit without them records 0, not known.
		if len(p.Indices) != 0 && len(p.Indices) != len(p.Contracts) {
			return fmt.Errorf("store: import %s commits %d contracts with %d entries", id, len(p.Contracts), len(p.Indices))
		}
		for i, c := range p.Contracts {
			var at uint64
			if len(p.Indices) > 0 {
				at = p.Indices[i]
			}
			if err := exactlyOne(ctx, tx, `UPDATE contract_releases SET pending = 0, log_index = $1, import_index = $2 WHERE ocid = $3 AND n = 1 AND import_id = $4 AND pending = 1`,
				at, index, c.OCID, id); err != nil {
				return fmt.Errorf("contract %s: %w", c.OCID, err)
			}
		}
		return nil
	},
	undo: func(ctx context.Context, tx *sql.Tx, id string, _ *journal.ContractImportPayload) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM contract_releases WHERE import_id = $1 AND pending = 1`, id)
		return err
	},
}

// contractAmend records a later release of a registered contract.
var contractAmend = operation[journal.ContractAmendPayload]{Operation: journal.ContractAmend, privileged: always[journal.ContractAmendPayload](ombud.OpContractAmend),
	reserve: func(ctx context.Context, tx *sql.Tx, ocid string, p *journal.ContractAmendPayload) error {
		var last sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT max(n) FROM contract_releases WHERE ocid = $1 AND pending = 0`, ocid).Scan(&last); err != nil {
			return err
		}
		if !last.Valid {
			return fmt.Errorf("contract %s: %w", ocid, ombud.ErrNotFound)
		}
		if int64(p.Contract.N) != last.Int64+1 {
			return fmt.Errorf("contract %s has %d releases, not %d: %w", ocid, last.Int64, p.Contract.N-1, ombud.ErrStale)
		}
		if err := insertContract(ctx, tx, ocid, p.Contract); err != nil {
			return err
		}
		return checkChains(ctx, tx, []string{ocid})
	},
	commit: func(ctx context.Context, tx *sql.Tx, ocid string, p *journal.ContractAmendPayload, index uint64) error {
		return exactlyOne(ctx, tx, `UPDATE contract_releases SET pending = 0, log_index = $1, import_index = $1 WHERE ocid = $2 AND n = $3 AND pending = 1`, index, ocid, p.Contract.N)
	},
	undo: func(ctx context.Context, tx *sql.Tx, ocid string, _ *journal.ContractAmendPayload) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM contract_releases WHERE ocid = $1 AND n > 1 AND pending = 1`, ocid)
		return err
	},
}

// contractOperations lists this file's operations, for the table in operations.go.
var contractOperations = []op{contractImport, contractAmend}
