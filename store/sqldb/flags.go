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

// reserveFlag records a pending flag, atomically with its preconditions:
// its run exists, is neither closed nor being closed, and read every
// input; its version is neither retired nor being retired.
func reserveFlag(ctx context.Context, tx *sql.Tx, f *ombud.Flag) error {
	var closed sql.NullInt64
	err := tx.QueryRowContext(ctx, `SELECT closed FROM runs WHERE id = $1 AND pending = 0`, f.Run).Scan(&closed)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("run %s: %w", f.Run, ombud.ErrNotFound)
	case err != nil:
		return err
	case closed.Valid:
		return fmt.Errorf("run %s: %w", f.Run, ombud.ErrRunClosed)
	}
	if err := inFlight(ctx, tx, journal.RunClose.Target(f.Run), fmt.Errorf("run %s is being closed: %w", f.Run, ombud.ErrBusy)); err != nil {
		return err
	}
	var retired sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT retired FROM system_versions WHERE system_id = $1 AND version = $2 AND pending = 0`, f.System, f.Version).Scan(&retired); err != nil {
		return fmt.Errorf("system %s version %s: %w", f.System, f.Version, ombud.ErrNotFound)
	}
	if retired.Valid {
		return fmt.Errorf("system %s version %s: %w", f.System, f.Version, ombud.ErrRetired)
	}
	if err := inFlight(ctx, tx, journal.SystemRetire.Target(journal.Pair(f.System, f.Version)), fmt.Errorf("system %s version %s is being retired: %w", f.System, f.Version, ombud.ErrBusy)); err != nil {
		return err
	}
	if err := runAuthorizationStands(ctx, tx, f.Run); err != nil {
		return err
	}
	// Every input and every reference image was read in the run (so each
	// was decided under the run's authorization), and each reference is
	// an object of a candidate.
	read := append(slices.Clone(f.Inputs), f.References...)
	args := []any{f.Run}
	for _, id := range read {
		args = append(args, id)
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(DISTINCT object_id) FROM run_objects WHERE run_id = $1 AND read_index IS NOT NULL AND object_id IN (`+
		params(2, len(read))+`)`, args...).Scan(&n); err != nil {
		return err
	}
	if n != len(read) {
		return fmt.Errorf("flag %s: %d of its %d inputs and references: %w", f.ID, len(read)-n, len(read), ombud.ErrNotRead)
	}
	// A reference is an object of a candidate that the run's
	// authorization names (any candidate when the run needed none): so a
	// refused reference tells nothing of subjects the authorization does
	// not cover.
	covered := f.Candidates
	var auth sql.NullString
	if err := tx.QueryRowContext(ctx, `SELECT authorization_id FROM runs WHERE id = $1`, f.Run).Scan(&auth); err != nil {
		return err
	}
	if auth.Valid && auth.String != "" && len(f.References) > 0 {
		var ps string
		if err := tx.QueryRowContext(ctx, `SELECT subjects_ps FROM authorizations WHERE id = $1`, auth.String).Scan(&ps); err != nil {
			return fmt.Errorf("run %s's authorization: %w", f.Run, err)
		}
		if names := strings.Split(ps, ","); !slices.Contains(names, "*") {
			covered = slices.DeleteFunc(slices.Clone(f.Candidates), func(c string) bool { return !slices.Contains(names, c) })
		}
	}
	for _, id := range f.References {
		var subjects string
		var erased bool
		if err := tx.QueryRowContext(ctx, `SELECT subjects, erased_at IS NOT NULL FROM objects WHERE id = $1`, id).Scan(&subjects, &erased); err != nil {
			return fmt.Errorf("flag %s: reference %s: %w", f.ID, id, err)
		}
		if erased || !slices.ContainsFunc(strings.Split(subjects, ","), func(s string) bool { return s != "" && slices.Contains(covered, s) }) {
			return fmt.Errorf("flag %s: reference %s: %w", f.ID, id, ombud.ErrNotCandidate)
		}
	}
	// One flag per match: the same inputs and candidates in one run are
	// flagged once (both lists are stored sorted).
	var dup int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM flags WHERE run_id = $1 AND inputs = $2 AND candidates = $3`,
		f.Run, strings.Join(f.Inputs, ","), strings.Join(f.Candidates, ",")).Scan(&dup); err != nil {
		return err
	}
	if dup > 0 {
		return fmt.Errorf("flag %s: the same match: %w", f.ID, ombud.ErrExists)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO flags (id, run_id, system_id, version, inputs, candidates, refs, rank, score, threshold, reference_db, gallery_size, matched, created, created_by, log_index, pending)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,0,1)`,
		f.ID, f.Run, f.System, f.Version, strings.Join(f.Inputs, ","), strings.Join(f.Candidates, ","), strings.Join(f.References, ","), f.Rank, f.Score, f.Threshold, f.ReferenceDB, f.GallerySize,
		ms(f.Matched), ms(f.Created), f.By)
	if isUnique(err) {
		return fmt.Errorf("flag %s: %w", f.ID, ombud.ErrExists)
	}
	return err
}

const flagCols = `id, run_id, system_id, version, inputs, candidates, refs, rank, score, threshold, reference_db, gallery_size, matched, created, created_by, log_index`

func scanFlag(row scanner) (*ombud.Flag, error) {
	var f ombud.Flag
	var inputs, candidates, refs string
	var matched, created int64
	if err := row.Scan(&f.ID, &f.Run, &f.System, &f.Version, &inputs, &candidates, &refs, &f.Rank, &f.Score, &f.Threshold, &f.ReferenceDB, &f.GallerySize,
		&matched, &created, &f.By, &f.Index); err != nil {
		return nil, err
	}
	if inputs != "" {
		f.Inputs = strings.Split(inputs, ",")
	}
	if candidates != "" {
		f.Candidates = strings.Split(candidates, ",")
	}
	if refs != "" {
		f.References = strings.Split(refs, ",")
	}
	f.Matched, f.Created = fromMS(matched), fromMS(created)
	return &f, nil
}

// Flag implements ombud.FlagStore.
func (s *Store) Flag(ctx context.Context, id string) (*ombud.Flag, error) {
	f, err := scanFlag(s.r.QueryRowContext(ctx, `SELECT `+flagCols+` FROM flags WHERE id = $1 AND pending = 0`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("flag %s: %w", id, ombud.ErrNotFound)
	}
	return f, err
}

// Reviews implements ombud.FlagStore.
func (s *Store) Reviews(ctx context.Context, flag string) ([]*ombud.Review, error) {
	return queryAll(ctx, s.r, func(row scanner) (*ombud.Review, error) {
		var r ombud.Review
		var created int64
		err := row.Scan(&r.Flag, &r.Reviewer, &r.Verdict, &created, &r.Index)
		r.Created = fromMS(created)
		return &r, err
	}, `SELECT flag_id, reviewer, verdict, created, log_index FROM reviews WHERE flag_id = $1 AND pending = 0 ORDER BY log_index`, flag)
}

// reserveAction records a pending action if the flag's reviews are still
// the ones it was decided on, and no review of the flag is in flight.
func reserveAction(ctx context.Context, tx *sql.Tx, p *journal.ActionPayload) error {
	a := p.Action
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM flags WHERE id = $1 AND pending = 0`, a.Flag).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("flag %s: %w", a.Flag, ombud.ErrNotFound)
	}
	var acted int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM actions WHERE flag_id = $1`, a.Flag).Scan(&acted); err != nil {
		return err
	}
	if acted > 0 {
		return fmt.Errorf("flag %s: %w", a.Flag, ombud.ErrActed)
	}
	var confirms, rejects, inFlight int64
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FILTER (WHERE pending = 0 AND verdict = 'confirm'), count(*) FILTER (WHERE pending = 0 AND verdict = 'reject'), count(*) FILTER (WHERE pending = 1)
		FROM reviews WHERE flag_id = $1`, a.Flag).Scan(&confirms, &rejects, &inFlight); err != nil {
		return err
	}
	switch {
	case inFlight > 0:
		return fmt.Errorf("a review of flag %s is being recorded: %w", a.Flag, ombud.ErrBusy)
	case rejects > 0:
		return fmt.Errorf("flag %s: %w", a.Flag, ombud.ErrRejected)
	case confirms != p.Confirmations || rejects != p.Rejections:
		return fmt.Errorf("flag %s has %d confirmations and %d rejections, not %d and %d: %w", a.Flag, confirms, rejects, p.Confirmations, p.Rejections, ombud.ErrStale)
	}
	if err := flagAuthorizationStands(ctx, tx, a.Flag); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO actions (id, flag_id, kind, notice_hash, reviewers, created, created_by, log_index, pending) VALUES ($1,$2,$3,$4,$5,$6,$7,0,1)`,
		a.ID, a.Flag, a.Kind, a.NoticeHash, strings.Join(a.Reviewers, ","), ms(a.Created), a.By)
	return err
}

// AwaitingReview implements ombud.FlagStore.
func (s *Store) AwaitingReview(ctx context.Context, reviewer string, since time.Time, limit int) ([]*ombud.Flag, error) {
	return queryAll(ctx, s.r, scanFlag, `SELECT `+prefixed("f.", flagCols)+` FROM flags f JOIN runs r ON r.id = f.run_id
		WHERE f.pending = 0 AND f.created >= $3 AND f.created_by <> $1 AND r.principal <> $1
		AND NOT EXISTS (SELECT 1 FROM reviews v WHERE v.flag_id = f.id AND v.reviewer = $1)
		AND NOT EXISTS (SELECT 1 FROM actions a WHERE a.flag_id = f.id)
		AND NOT EXISTS (SELECT 1 FROM reviews v WHERE v.flag_id = f.id AND v.verdict = 'reject' AND v.pending = 0)
		AND NOT EXISTS (SELECT 1 FROM authorizations z WHERE z.id = r.authorization_id AND z.revoked IS NOT NULL)
		ORDER BY f.created, f.id LIMIT $2`, reviewer, limit, ms(since))
}

// prefixed qualifies each of a comma-separated list of columns.
func prefixed(p, cols string) string {
	fs := strings.Split(cols, ",")
	for i, c := range fs {
		fs[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(fs, ", ")
}

// actionFrom selects actions with the overturned contest that withdrew
// each, if any: withdrawal is read from contests, not stored twice.
const actionFrom = `SELECT a.id, a.flag_id, a.kind, a.notice_hash, a.reviewers, a.created, a.created_by, a.log_index, c.resolved, c.resolve_index
	FROM actions a LEFT JOIN contests c ON c.action_id = a.id AND c.pending = 0 AND c.outcome = 'overturned'`

func scanAction(row scanner) (*ombud.Action, error) {
	var a ombud.Action
	var reviewers string
	var created int64
	var withdrawn, windex sql.NullInt64
	if err := row.Scan(&a.ID, &a.Flag, &a.Kind, &a.NoticeHash, &reviewers, &created, &a.By, &a.Index, &withdrawn, &windex); err != nil {
		return nil, err
	}
	if reviewers != "" {
		a.Reviewers = strings.Split(reviewers, ",")
	}
	a.Created = fromMS(created)
	if withdrawn.Valid {
		a.Withdrawn, a.WithdrawnIndex = fromMS(withdrawn.Int64), uint64(windex.Int64)
	}
	return &a, nil
}

// Actions implements ombud.FlagStore.
func (s *Store) Actions(ctx context.Context, flag string) ([]*ombud.Action, error) {
	return queryAll(ctx, s.r, scanAction, actionFrom+` WHERE a.flag_id = $1 AND a.pending = 0 ORDER BY a.log_index`, flag)
}

// ActionsBy implements ombud.FlagStore.
func (s *Store) ActionsBy(ctx context.Context, principal string, limit int) ([]*ombud.Action, error) {
	return queryAll(ctx, s.r, scanAction, actionFrom+` WHERE a.created_by = $1 AND a.pending = 0 ORDER BY a.created DESC, a.id LIMIT $2`, principal, limit)
}

// Action implements ombud.FlagStore.
func (s *Store) Action(ctx context.Context, id string) (*ombud.Action, error) {
	a, err := scanAction(s.r.QueryRowContext(ctx, actionFrom+` WHERE a.id = $1 AND a.pending = 0`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("action %s: %w", id, ombud.ErrNotFound)
	}
	return a, err
}

// ActionByNotice implements ombud.FlagStore.
func (s *Store) ActionByNotice(ctx context.Context, sum []byte) (*ombud.Action, error) {
	a, err := scanAction(s.r.QueryRowContext(ctx, actionFrom+` WHERE a.notice_hash = $1 AND a.pending = 0`, sum))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("action: %w", ombud.ErrNotFound)
	}
	return a, err
}

const contestCols = `id, action_id, filed, log_index, outcome, resolved, resolved_by, resolve_index, statement_ms, statement, resolution_ms, resolution, due`

func scanContest(row scanner) (*ombud.Contest, error) {
	var c ombud.Contest
	var filed int64
	var outcome, by sql.NullString
	var resolved, idx, sms, rms, due sql.NullInt64
	var st, rs sql.NullString
	if err := row.Scan(&c.ID, &c.Action, &filed, &c.Index, &outcome, &resolved, &by, &idx, &sms, &st, &rms, &rs, &due); err != nil {
		return nil, err
	}
	if due.Valid {
		c.Due = fromMS(due.Int64)
	}
	if st.Valid {
		c.Statement = ombud.DetailKey{Time: fromMS(sms.Int64), Commitment: st.String}
	}
	if rs.Valid {
		c.Resolution = ombud.DetailKey{Time: fromMS(rms.Int64), Commitment: rs.String}
	}
	c.Filed = fromMS(filed)
	if outcome.Valid {
		c.Outcome, c.Resolved, c.ResolvedBy, c.ResolveIndex = outcome.String, fromMS(resolved.Int64), by.String, uint64(idx.Int64)
	}
	return &c, nil
}

// Contest implements ombud.FlagStore.
func (s *Store) Contest(ctx context.Context, id string) (*ombud.Contest, error) {
	c, err := scanContest(s.r.QueryRowContext(ctx, `SELECT `+contestCols+` FROM contests WHERE id = $1 AND pending = 0`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("contest %s: %w", id, ombud.ErrNotFound)
	}
	return c, err
}

// ContestOf implements ombud.FlagStore.
func (s *Store) ContestOf(ctx context.Context, action string) (*ombud.Contest, error) {
	c, err := scanContest(s.r.QueryRowContext(ctx, `SELECT `+contestCols+` FROM contests WHERE action_id = $1 AND pending = 0`, action))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("contest of action %s: %w", action, ombud.ErrNotFound)
	}
	return c, err
}

// OpenContests implements ombud.FlagStore.
func (s *Store) OpenContests(ctx context.Context, limit int) ([]*ombud.Contest, error) {
	return queryAll(ctx, s.r, scanContest, `SELECT `+contestCols+` FROM contests WHERE outcome IS NULL AND pending = 0 ORDER BY filed, id LIMIT $1`, limit)
}

// reserveContest records a pending contest of a logged action; a second
// contest of the same action is refused (ErrExists).
func reserveContest(ctx context.Context, tx *sql.Tx, c *ombud.Contest) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM actions WHERE id = $1 AND pending = 0`, c.Action).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("action %s: %w", c.Action, ombud.ErrNotFound)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO contests (id, action_id, filed, log_index, pending, statement_ms, statement, due) VALUES ($1,$2,$3,0,1,$4,$5,$6)`,
		c.ID, c.Action, ms(c.Filed), nullMS(c.Statement.Time), nullString(c.Statement.Commitment), nullMS(c.Due))
	if isUnique(err) {
		return fmt.Errorf("a contest of action %s: %w", c.Action, ombud.ErrExists)
	}
	return err
}

// reserveContestResolve checks that the contest is filed and open, and
// that a resolver who upholds the action viewed every input of its flag
// (their logged viewings): an action stands only on evidence someone
// independent looked at. Overturning needs none, so an action can still
// be withdrawn once its evidence may no longer be viewed. The change's
// target keeps a second resolution out while this one is in flight.
func reserveContestResolve(ctx context.Context, tx *sql.Tx, c *ombud.Contest) error {
	var outcome sql.NullString
	var flag, inputs string
	err := tx.QueryRowContext(ctx, `SELECT c.outcome, f.id, f.inputs FROM contests c JOIN actions a ON a.id = c.action_id JOIN flags f ON f.id = a.flag_id
		WHERE c.id = $1 AND c.pending = 0`, c.ID).Scan(&outcome, &flag, &inputs)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("contest %s: %w", c.ID, ombud.ErrNotFound)
	case err != nil:
		return err
	case outcome.Valid:
		return fmt.Errorf("contest %s: %w", c.ID, ombud.ErrResolved)
	case c.Outcome == ombud.ContestUpheld:
		return viewedInputs(ctx, tx, flag, c.ResolvedBy, inputs)
	}
	return nil
}

// viewedInputs checks that reviewer viewed every one of a flag's inputs
// (a comma-separated list).
func viewedInputs(ctx context.Context, tx *sql.Tx, flag, reviewer, inputs string) error {
	ids := strings.Split(inputs, ",")
	args := []any{flag, reviewer}
	for _, id := range ids {
		args = append(args, id)
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM evidence_views WHERE flag_id = $1 AND reviewer = $2 AND object_id IN (`+
		params(3, len(ids))+`)`, args...).Scan(&n); err != nil {
		return err
	}
	if n != len(ids) {
		return fmt.Errorf("flag %s, reviewer %s: %d of %d inputs viewed: %w", flag, reviewer, n, len(ids), ombud.ErrNotViewed)
	}
	return nil
}

// ReviewCounts implements ombud.FlagStore, in four grouped queries.
func (s *Store) ReviewCounts(ctx context.Context, system string) ([]ombud.ReviewCount, error) {
	byVersion := map[string]*ombud.ReviewCount{}
	get := func(v string) *ombud.ReviewCount {
		c := byVersion[v]
		if c == nil {
			c = &ombud.ReviewCount{Version: v, Actions: map[string]int64{}, Contests: map[string]int64{}}
			byVersion[v] = c
		}
		return c
	}
	type kv struct {
		version, key string
		n            int64
	}
	scan := func(row scanner) (kv, error) {
		var r kv
		err := row.Scan(&r.version, &r.key, &r.n)
		return r, err
	}
	for _, q := range []struct {
		sql string
		add func(c *ombud.ReviewCount, key string, n int64)
	}{
		{`SELECT version, '', count(*) FROM flags WHERE system_id = $1 AND pending = 0 GROUP BY version`,
			func(c *ombud.ReviewCount, _ string, n int64) { c.Flags = n }},
		{`SELECT f.version, r.verdict, count(*) FROM reviews r JOIN flags f ON f.id = r.flag_id WHERE f.system_id = $1 AND r.pending = 0 GROUP BY f.version, r.verdict`,
			func(c *ombud.ReviewCount, k string, n int64) {
				c.Reviews += n
				switch k {
				case "confirm":
					c.Confirmed = n
				case "reject":
					c.Rejected = n
				}
			}},
		{`SELECT f.version, a.kind, count(*) FROM actions a JOIN flags f ON f.id = a.flag_id WHERE f.system_id = $1 AND a.pending = 0 GROUP BY f.version, a.kind`,
			func(c *ombud.ReviewCount, k string, n int64) { c.Actions[k] = n }},
		{`SELECT f.version, coalesce(c.outcome, 'open'), count(*) FROM contests c JOIN actions a ON a.id = c.action_id JOIN flags f ON f.id = a.flag_id
			WHERE f.system_id = $1 AND c.pending = 0 GROUP BY f.version, coalesce(c.outcome, 'open')`,
			func(c *ombud.ReviewCount, k string, n int64) { c.Contests[k] = n }},
	} {
		rows, err := queryAll(ctx, s.r, scan, q.sql, system)
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			q.add(get(r.version), r.key, r.n)
		}
	}
	out := make([]ombud.ReviewCount, 0, len(byVersion))
	for _, c := range byVersion {
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b ombud.ReviewCount) int { return strings.Compare(a.Version, b.Version) })
	return out, nil
}

// RecordViewing implements ombud.FlagStore.
func (s *Store) RecordViewing(ctx context.Context, v ombud.Viewing) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO evidence_views (flag_id, reviewer, object_id, log_index) VALUES ($1,$2,$3,$4) ON CONFLICT DO NOTHING`,
		v.Flag, v.Reviewer, v.Object, v.Index)
	return err
}

// reserveReview records a pending review, atomically with its
// preconditions: the flag is logged, has no action (taken or being taken)
// and no rejection (a rejection closes it), its run's authorization
// stands, and a confirmation's reviewer viewed every input.
func reserveReview(ctx context.Context, tx *sql.Tx, r *ombud.Review) error {
	var inputs string
	var again, acted, rejected bool
	err := tx.QueryRowContext(ctx, `SELECT inputs, EXISTS (SELECT 1 FROM reviews WHERE flag_id = f.id AND reviewer = $2),
		EXISTS (SELECT 1 FROM actions WHERE flag_id = f.id),
		EXISTS (SELECT 1 FROM reviews WHERE flag_id = f.id AND verdict = 'reject' AND pending = 0)
		FROM flags f WHERE id = $1 AND pending = 0`, r.Flag, r.Reviewer).Scan(&inputs, &again, &acted, &rejected)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("flag %s: %w", r.Flag, ombud.ErrNotFound)
	case err != nil:
		return err
	case again:
		return fmt.Errorf("flag %s, reviewer %s: %w", r.Flag, r.Reviewer, ombud.ErrExists)
	case acted:
		// The action was decided on the reviews before it.
		return fmt.Errorf("flag %s: %w", r.Flag, ombud.ErrActed)
	case rejected:
		return fmt.Errorf("flag %s: %w", r.Flag, ombud.ErrRejected)
	}
	if err := flagAuthorizationStands(ctx, tx, r.Flag); err != nil {
		return err
	}
	if r.Verdict == "confirm" {
		if err := viewedInputs(ctx, tx, r.Flag, r.Reviewer, inputs); err != nil {
			return err
		}
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO reviews (flag_id, reviewer, verdict, created, log_index, pending) VALUES ($1,$2,$3,$4,0,1)`,
		r.Flag, r.Reviewer, r.Verdict, ms(r.Created))
	if isUnique(err) {
		return fmt.Errorf("flag %s, reviewer %s: %w", r.Flag, r.Reviewer, ombud.ErrExists)
	}
	return err
}

// flagAuthorizationStands is runAuthorizationStands for a flag's run.
func flagAuthorizationStands(ctx context.Context, tx *sql.Tx, flag string) error {
	var run string
	if err := tx.QueryRowContext(ctx, `SELECT run_id FROM flags WHERE id = $1`, flag).Scan(&run); err != nil {
		return fmt.Errorf("flag %s: %w", flag, err)
	}
	return runAuthorizationStands(ctx, tx, run)
}

// runAuthorizationStands checks that the authorization a run was started
// under is neither revoked nor being revoked: a revocation ends the
// run's flags, reviews and actions, and waits in turn for one in flight
// (reviewPipelineInFlight). A run under no authorization passes.
func runAuthorizationStands(ctx context.Context, tx *sql.Tx, run string) error {
	var auth sql.NullString
	var revoked sql.NullInt64
	err := tx.QueryRowContext(ctx, `SELECT r.authorization_id, a.revoked FROM runs r LEFT JOIN authorizations a ON a.id = r.authorization_id WHERE r.id = $1`, run).Scan(&auth, &revoked)
	switch {
	case err != nil:
		return fmt.Errorf("run %s: %w", run, err)
	case !auth.Valid || auth.String == "":
		return nil
	case revoked.Valid:
		return fmt.Errorf("run %s's authorization %s: %w", run, auth.String, ombud.ErrRevoked)
	}
	return inFlight(ctx, tx, journal.AuthorizationRevoke.Target(auth.String), fmt.Errorf("run %s's authorization %s is being revoked: %w", run, auth.String, ombud.ErrBusy))
}

// reviewPipelineInFlight reports whether a flag, review or action of a
// run started under authorization is reserved and not yet logged: its
// revocation waits for them.
func reviewPipelineInFlight(ctx context.Context, tx *sql.Tx, authorization string) (bool, error) {
	var n int
	err := tx.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM flags f JOIN runs r ON r.id = f.run_id WHERE f.pending = 1 AND r.authorization_id = $1) +
		(SELECT count(*) FROM reviews v JOIN flags f ON f.id = v.flag_id JOIN runs r ON r.id = f.run_id WHERE v.pending = 1 AND r.authorization_id = $1) +
		(SELECT count(*) FROM actions a JOIN flags f ON f.id = a.flag_id JOIN runs r ON r.id = f.run_id WHERE a.pending = 1 AND r.authorization_id = $1)`, authorization).Scan(&n)
	return n > 0, err
}

var flagCreate = registration(journal.FlagCreate, "flags", "id", func(ctx context.Context, tx *sql.Tx, p *journal.FlagPayload) error {
	return reserveFlag(ctx, tx, p.Flag)
})

var flagReview = operation[journal.ReviewPayload]{Operation: journal.FlagReview,
	reserve: func(ctx context.Context, tx *sql.Tx, _ string, p *journal.ReviewPayload) error {
		return reserveReview(ctx, tx, p.Review)
	},
	commit: func(ctx context.Context, tx *sql.Tx, _ string, p *journal.ReviewPayload, index uint64) error {
		return exactlyOne(ctx, tx, `UPDATE reviews SET pending = 0, log_index = $1 WHERE flag_id = $2 AND reviewer = $3 AND pending = 1`, index, p.Review.Flag, p.Review.Reviewer)
	},
	undo: func(ctx context.Context, tx *sql.Tx, id string, _ *journal.ReviewPayload) error {
		flag, reviewer, _ := strings.Cut(id, "/")
		_, err := tx.ExecContext(ctx, `DELETE FROM reviews WHERE flag_id = $1 AND reviewer = $2 AND pending = 1`, flag, reviewer)
		return err
	},
}

var flagAction = registration(journal.FlagAction, "actions", "id", reserveAction)

var contestFile = registration(journal.ContestFile, "contests", "id", func(ctx context.Context, tx *sql.Tx, p *journal.ContestPayload) error {
	return reserveContest(ctx, tx, p.Contest)
})

var contestResolve = operation[journal.ContestPayload]{Operation: journal.ContestResolve,
	reserve: func(ctx context.Context, tx *sql.Tx, _ string, p *journal.ContestPayload) error {
		return reserveContestResolve(ctx, tx, p.Contest)
	},
	commit: func(ctx context.Context, tx *sql.Tx, id string, p *journal.ContestPayload, index uint64) error {
		c := p.Contest
		if c.Outcome != ombud.ContestUpheld && c.Outcome != ombud.ContestOverturned {
			return errors.New("no outcome")
		}
		return exactlyOne(ctx, tx, `UPDATE contests SET outcome = $1, resolved = $2, resolved_by = $3, resolve_index = $4, resolution_ms = $5, resolution = $6
			WHERE id = $7 AND outcome IS NULL`,
			c.Outcome, ms(c.Resolved), c.ResolvedBy, index, nullMS(c.Resolution.Time), nullString(c.Resolution.Commitment), id)
	},
	undo: nothingToUndo[journal.ContestPayload],
}

// flagOperations lists this file's operations, for the table in operations.go.
var flagOperations = []op{flagCreate, flagReview, flagAction, contestFile, contestResolve}
