package audit

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/apiv1"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/journal"
)

// DetailSource is the auditor's access to detail records.
type DetailSource interface {
	// Details returns the records of the entries in [from, to) that commit
	// to one.
	Details(ctx context.Context, from, to uint64) ([]apiv1.DetailRecord, error)
}

// HTTPDetails reads detail records from an ombud server with an auditor
// token.
type HTTPDetails struct {
	Server string // e.g. https://records.example.org
	Token  string
	Client *http.Client
}

// Details implements DetailSource.
func (h *HTTPDetails) Details(ctx context.Context, from, to uint64) ([]apiv1.DetailRecord, error) {
	u := strings.TrimRight(h.Server, "/") + "/v1/audit/details?" + url.Values{"from": {strconv.FormatUint(from, 10)}, "to": {strconv.FormatUint(to, 10)}}.Encode()
	resp, err := get(ctx, h.Client, u, h.Token)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("details %d-%d: %s: %s", from, to, resp.Status, strings.TrimSpace(string(b)))
	}
	var out []apiv1.DetailRecord
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20) // one record: a detail of at most a few MiB
	for sc.Scan() {
		var d apiv1.DetailRecord
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			return nil, fmt.Errorf("details %d-%d: malformed line: %v", from, to, err)
		}
		out = append(out, d)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			err = fmt.Errorf("details %d-%d: a record line: %w", from, to, ErrTooLarge)
		}
		return nil, err
	}
	return out, nil
}

var defaultClient = LimitedClient(nil)

// get sends a GET, with a bearer token if one is given.
func get(ctx context.Context, c *http.Client, u, token string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if c == nil {
		c = defaultClient
	}
	return c.Do(req)
}

// detailBatch collects the entries whose details are fetched together.
type detailBatch struct {
	idx     []uint64
	entries []*entry.Entry
	bodies  []entry.Body
}

func (b *detailBatch) add(i uint64, e *entry.Entry, body entry.Body) {
	b.idx = append(b.idx, i)
	b.entries = append(b.entries, e)
	b.bodies = append(b.bodies, body)
}

func (b *detailBatch) reset() {
	b.idx, b.entries, b.bodies = b.idx[:0], b.entries[:0], b.bodies[:0]
}

func (b *detailBatch) full() bool {
	return len(b.idx) > 0 && (len(b.idx) >= 4096 || b.idx[len(b.idx)-1]-b.idx[0] >= apiv1.MaxDetailRange/2)
}

// fetch reads the records of the batch's range, by entry index.
func (b *detailBatch) fetch(ctx context.Context, src DetailSource) (map[uint64]*apiv1.DetailRecord, error) {
	if len(b.idx) == 0 {
		return nil, nil
	}
	recs, err := src.Details(ctx, b.idx[0], b.idx[len(b.idx)-1]+1)
	if err != nil {
		return nil, err
	}
	byIdx := make(map[uint64]*apiv1.DetailRecord, len(recs))
	for i := range recs {
		byIdx[recs[i].Index] = &recs[i]
	}
	return byIdx, nil
}

// erasedDetail is an entry whose detail record the server reports erased;
// whether the log explains it is judged once the run has read every entry.
type erasedDetail struct {
	index uint64
	entry *entry.Entry
	body  entry.Body
}

// checkErased reports every erased detail record the log does not explain.
func (v *verifier) checkErased() {
	for _, d := range v.erased {
		if !v.rules.erasedDetailExplained(d.entry, d.body) {
			v.rep.Findings = append(v.rep.Findings, Finding{Rule: RuleDetailErasedUnexplained, Index: ptr(d.index),
				Message: fmt.Sprintf("the %s entry's detail record is erased, but no erase entry of its object and no summary erasing %s details from before %s precedes it in the log", d.entry.Kind, d.entry.Kind, ombud.Day(d.entry.Time))})
		}
	}
	v.erased = nil
}

// checkDetails fetches the batch's detail records and checks each against
// the commitment in its entry, and the few facts a detail repeats.
func (v *verifier) checkDetails(ctx context.Context) error {
	b := &v.details
	byIdx, err := b.fetch(ctx, v.cfg.Details)
	if err != nil {
		return cannot("failed to fetch detail records: %v", err)
	}
	for i, idx := range b.idx {
		e := b.entries[i]
		add := func(rule, format string, args ...any) {
			v.rep.Findings = append(v.rep.Findings, Finding{Rule: rule, Index: ptr(idx), Message: fmt.Sprintf(format, args...)})
		}
		r := byIdx[idx]
		switch {
		case r == nil || r.Missing:
			add(RuleDetailMissing, "the entry commits to a detail record the server does not hold")
			continue
		case r.Erased:
			// Erased by design (its object's erasure, its kind's
			// retention), once the log says so; the commitment stays.
			v.erased = append(v.erased, erasedDetail{idx, e, b.bodies[i]})
			continue
		case r.Commitment != e.Detail:
			add(RuleDetailMismatch, "the server's record is for commitment %s, the entry commits to %s", r.Commitment, e.Detail)
			continue
		}
		err := journal.CheckDetail(e, journal.Detail{Commitment: r.Commitment, Time: e.Time, Salt: r.Salt, Body: r.Body})
		switch {
		case errors.Is(err, journal.ErrDetailErased):
		case err != nil:
			add(RuleDetailMismatch, "the detail record does not match the entry's commitment: %v", err)
			continue
		}
		v.rep.Details++
		v.runDetail(idx, b.bodies[i], r.Body, add)
		v.reviewDetail(b.bodies[i], r.Body, add)
		if a, ok := b.bodies[i].(*entry.Access); ok {
			var d entry.AccessDetail
			if json.Unmarshal(r.Body, &d) == nil && d.Purpose != "" && d.Purpose != a.Purpose {
				add(RuleDetailInconsistent, "the detail's purpose %q differs from the entry's %q", d.Purpose, a.Purpose)
			}
		}
	}
	b.reset()
	return nil
}

// reviewDetail checks, from the detail records, that every review gives a
// rationale and that every flag's inputs were read in its run (as far as
// this audit read the run's start).
func (v *verifier) reviewDetail(body entry.Body, detail []byte, add adder) {
	switch b := body.(type) {
	case *entry.Review:
		var d entry.ReviewDetail
		if json.Unmarshal(detail, &d) != nil || strings.TrimSpace(d.Rationale) == "" {
			add(RuleReviewWithoutRationale, "a review of flag %s gives no rationale", b.Flag)
		}
	case *entry.Flag:
		var d entry.FlagDetail
		if json.Unmarshal(detail, &d) != nil || d.Run == "" {
			return
		}
		if _, known := v.runLists[d.Run]; !known {
			return // the run started before this audit's entries
		}
		for _, in := range append(d.Inputs, d.References...) {
			if _, read := v.runReads[d.Run][in]; !read {
				add(RuleFlagInputNotRead, "flag %s cites object %s (an input or reference image), which run %s did not read", b.Flag, in, d.Run)
			}
		}
	}
}

// runDetail checks, from the detail records, that every read in a run is
// of an object on the run's list at the position it names: the list is
// in the run's start detail, the object and position in the read's.
func (v *verifier) runDetail(idx uint64, body entry.Body, detail []byte, add adder) {
	switch b := body.(type) {
	case *entry.Run:
		if b.Op != entry.OpStart || b.Decision != entry.Permit {
			return
		}
		var d entry.RunDetail
		if json.Unmarshal(detail, &d) == nil && d.Run != "" {
			if v.runLists == nil {
				v.runLists = map[string][]string{}
			}
			v.runLists[d.Run] = d.Objects
		}
	case *entry.Export:
		if b.Decision != entry.Permit {
			return
		}
		var d entry.ExportDetail
		if json.Unmarshal(detail, &d) == nil && d.Export != "" {
			if v.runLists == nil {
				v.runLists = map[string][]string{}
			}
			v.runLists["export:"+d.Export] = d.Objects
		}
	case *entry.Access:
		if b.Export != "" && b.Decision == entry.Permit {
			v.exportReadDetail(detail, add)
			return
		}
		if b.Run == "" || b.Decision != entry.Permit {
			return
		}
		// A position absent (or null) stays -1, outside every list.
		d := entry.RunReadDetail{Position: -1}
		if json.Unmarshal(detail, &d) != nil || d.Run == "" {
			return
		}
		if v.runReads == nil {
			v.runReads = map[string]map[string]struct{}{}
		}
		if v.runReads[d.Run] == nil {
			v.runReads[d.Run] = map[string]struct{}{}
		}
		v.runReads[d.Run][d.Object] = struct{}{}
		list, known := v.runLists[d.Run]
		switch {
		case !known:
			// The run's detail was erased or lies before this audit.
		case d.Position < 0 || d.Position >= len(list):
			add(RuleRunReadOutsideList, "a read in run %s of object %s at a position outside its list of %d", d.Run, d.Object, len(list))
		case list[d.Position] != d.Object:
			add(RuleRunReadOutsideList, "a read in run %s of object %s, which is not on its list at position %d (%s is)", d.Run, d.Object, d.Position, list[d.Position])
		}
	}
}

// exportReadDetail checks that a read in an export is of the object its
// export's detail lists at the position the read's detail names.
func (v *verifier) exportReadDetail(detail []byte, add adder) {
	d := entry.ExportReadDetail{Position: -1}
	if json.Unmarshal(detail, &d) != nil || d.Export == "" {
		return
	}
	list, known := v.runLists["export:"+d.Export]
	switch {
	case !known:
		// The export's detail was erased or lies before this audit.
	case d.Position < 0 || d.Position >= len(list) || list[d.Position] != d.Object:
		add(RuleExportReadUnknown, "a read in export %s of object %s, which its list does not hold at position %d", d.Export, d.Object, d.Position)
	}
}
