package contracts

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/journal"
)

// Limits of one registration.
const (
	// MaxProblems bounds the problems a refusal lists.
	MaxProblems = 100
	// MaxImportBytes bounds a release or release package sent at once.
	MaxImportBytes = 16 << 20
	// MaxReleases bounds the releases of one package.
	MaxReleases = 1000
)

// Config is what a registry service is built from (NewService). Store
// and Journal are required; Log is what recovery reads to find the
// entries of an import a crash interrupted.
type Config struct {
	Store   ombud.ContractStore
	Journal *journal.Journal
	Log     journal.LogReader
}

// Service registers contracts in the public registry. Build it with
// NewService.
type Service struct{ Config }

// NewService checks c and returns the service it describes.
func NewService(c Config) (*Service, error) {
	if c.Store == nil || c.Journal == nil || c.Log == nil {
		return nil, errors.New("contracts: the store, the journal and the log are required")
	}
	if _, err := loaded(); err != nil {
		return nil, err
	}
	return &Service{Config: c}, nil
}

// Refusal turns err, an *InvalidError, into the API's error: invalid,
// with the first problem's own code (unknown_role, circular_chain) or
// invalid_release, and every problem at its field. Other errors pass.
func Refusal(err error) error {
	var ie *InvalidError
	if !errors.As(err, &ie) {
		return err
	}
	reason := "invalid_release"
	for _, p := range ie.Problems {
		if p.Code != "" {
			reason = p.Code
			break
		}
	}
	msg := fmt.Sprintf("not a valid OCDS release: %d problem(s); the first: %s: %s", len(ie.Problems), ie.Problems[0].Path, ie.Problems[0].Message)
	if len(ie.Problems) > MaxProblems {
		msg += fmt.Sprintf(" (the first %d are listed)", MaxProblems)
	}
	probs := make([]ombud.Problem, min(len(ie.Problems), MaxProblems))
	for i, p := range ie.Problems[:len(probs)] {
		probs[i] = ombud.Problem{Path: p.Path, Message: p.Message, Code: p.Code}
	}
	return &ombud.Error{Code: ombud.CodeInvalid, Reason: reason, Message: msg, Problems: probs}
}

// parsed is one release read for registration.
type parsed struct {
	c   *Contract
	raw []byte // compacted
}

// readAll reads raw, a release or a release package, into its releases,
// each validated and read (Read); the problems of a package's releases
// are at their place in it (/releases/N/…).
func readAll(raw []byte) ([]parsed, error) {
	if len(raw) > MaxImportBytes {
		return nil, ombud.Errorf(ombud.CodeBodyTooLarge, "a registration is at most %d bytes: split the package", MaxImportBytes)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return nil, &InvalidError{Problems: []Problem{{Path: "/", Message: "not a JSON object: " + err.Error()}}}
	}
	rels, isPackage := top["releases"]
	if isPackage {
		// The envelope's keys too: "releases" given twice, or in another
		// case beside it, would read one list here and another elsewhere.
		if p := checkKeys(raw, 0); p != nil {
			return nil, &InvalidError{Problems: []Problem{*p}}
		}
	}
	if !isPackage {
		p, err := readOne(raw)
		if err != nil {
			return nil, err
		}
		return []parsed{p}, nil
	}
	var list []json.RawMessage
	if err := json.Unmarshal(rels, &list); err != nil {
		return nil, &InvalidError{Problems: []Problem{{Path: "/releases", Message: "releases must be a list of releases"}}}
	}
	switch {
	case len(list) == 0:
		return nil, &InvalidError{Problems: []Problem{{Path: "/releases", Message: "the package holds no release"}}}
	case len(list) > MaxReleases:
		return nil, &InvalidError{Problems: []Problem{{Path: "/releases", Message: fmt.Sprintf("at most %d releases at once: split the package", MaxReleases)}}}
	}
	var out []parsed
	var probs []Problem
	seen := map[string]int{}
	for i, r := range list {
		if len(probs) >= MaxProblems {
			break // enough to act on: the refusal lists no more
		}
		p, err := readOne(r)
		var ie *InvalidError
		switch {
		case errors.As(err, &ie):
			for _, q := range ie.Problems {
				q.Path = fmt.Sprintf("/releases/%d%s", i, strings.TrimSuffix(q.Path, "/"))
				probs = append(probs, q)
			}
			continue
		case err != nil:
			return nil, err
		}
		if j, dup := seen[p.c.OCID]; dup {
			probs = append(probs, Problem{Path: fmt.Sprintf("/releases/%d/ocid", i), Code: DuplicateOCID,
				Message: fmt.Sprintf("the package registers %s twice (release %d too): amend a registered contract instead", p.c.OCID, j)})
			continue
		}
		seen[p.c.OCID] = i
		out = append(out, p)
	}
	if len(probs) == 0 {
		// The envelope: what the published package schema asks of it.
		if err := ValidatePackage(raw, false); err != nil {
			return nil, err
		}
	}
	if len(probs) > 0 {
		return nil, &InvalidError{Problems: probs}
	}
	return out, nil
}

// DuplicateOCID is the code of a contract registered twice.
const DuplicateOCID = "duplicate_ocid"

func readOne(raw []byte) (parsed, error) {
	// The registry serves the bytes it was given: a key given twice, or
	// in another case, would read one way here and another way in
	// another tool; invalid UTF-8 is no JSON at all to a strict reader.
	if !utf8.Valid(raw) {
		return parsed{}, &InvalidError{Problems: []Problem{{Path: "/", Message: "the release is not valid UTF-8"}}}
	}
	if loneSurrogate(raw) {
		return parsed{}, &InvalidError{Problems: []Problem{{Path: "/", Message: "a string holds half of a UTF-16 surrogate pair (\\uD800 to \\uDFFF alone): it is no character"}}}
	}
	if p := checkKeys(raw, MaxValues); p != nil {
		return parsed{}, &InvalidError{Problems: []Problem{*p}}
	}
	c, err := Read(raw)
	if err != nil {
		return parsed{}, err
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return parsed{}, &InvalidError{Problems: []Problem{{Path: "/", Message: err.Error()}}}
	}
	return parsed{c: c, raw: b.Bytes()}, nil
}

// record is what the registry keeps of a release as its n-th.
func record(p parsed, n int, now time.Time) *ombud.Contract {
	sum := sha256.Sum256(p.raw)
	c := p.c
	return &ombud.Contract{OCID: c.OCID, N: n, ReleaseID: c.ReleaseID, Release: p.raw, SHA256: "sha256:" + hex.EncodeToString(sum[:]),
		Title: c.Title, Buyer: c.Buyer.ID, Vendor: c.Vendor(), Intermediaries: c.Intermediaries(), Flags: c.Flags,
		Missing: c.Missing, Unexplained: c.Unexplained(), Upstream: c.Upstream(), Amount: c.Amount, Currency: c.Currency, Registered: now}
}

// body is the public entry of a release registered or amended.
func body(op string, c *ombud.Contract, importID, by string) entry.Contract {
	return entry.Contract{Op: op, OCID: c.OCID, Release: c.SHA256, Buyer: c.Buyer, Vendor: c.Vendor, Intermediaries: c.Intermediaries,
		ProductFlags: c.Flags, MissingClauses: c.Missing, Unexplained: c.Unexplained, Upstream: c.Upstream, Import: importID, By: by}
}

// refusal words a refusal the store decided (a duplicate ocid, a loop
// through other contracts) with its problems, at the releases they
// concern: in a package, /releases/N.
func (s *Service) refusal(ctx context.Context, err error, ocids []string, pkg bool) error {
	at := func(i int, field string) string {
		if pkg {
			return fmt.Sprintf("/releases/%d%s", i, field)
		}
		return field
	}
	var oe *ombud.Error
	switch {
	case errors.Is(err, ombud.ErrExists):
		var probs []ombud.Problem
		for i, o := range ocids {
			if _, err := s.Store.ContractReleases(ctx, o); err == nil {
				probs = append(probs, ombud.Problem{Path: at(i, "/ocid"), Code: DuplicateOCID, Message: o + " is registered already"})
			}
		}
		what := "a contract of the import"
		if len(ocids) == 1 {
			what = ocids[0]
		}
		return &ombud.Error{Code: ombud.CodeConflict, Reason: DuplicateOCID, Err: err, Problems: probs,
			Message: what + " is registered already: an ocid is registered once; record a later release with ombud contracts amend (POST /v1/contracts/{ocid}/releases)"}
	case errors.As(err, &oe) && oe.Reason == CircularChain && len(oe.Problems) == 0:
		e := *oe
		e.Problems = []ombud.Problem{{Path: at(0, "/contracts/0/supplyChain"), Code: CircularChain, Message: oe.Message}}
		if pkg {
			e.Problems[0].Path = "/releases"
		}
		return &e
	}
	return err
}

// isPackage reports whether raw is a release package (it has releases).
func isPackage(raw []byte) bool {
	var top map[string]json.RawMessage
	if json.Unmarshal(raw, &top) != nil {
		return false
	}
	_, ok := top["releases"]
	return ok
}

// Import registers raw, one release or a release package, all of it or
// none: one change, a register entry for each contract and then the
// import's closing entry. It returns the contracts as registered and the
// closing entry.
func (s *Service) Import(ctx context.Context, raw []byte, by string) ([]*ombud.Contract, journal.Leaf, error) {
	ps, err := readAll(raw)
	if err != nil {
		return nil, journal.Leaf{}, Refusal(err)
	}
	now := s.Journal.Clock().UTC().Truncate(time.Millisecond)
	id := ombud.NewID()
	p := journal.ContractImportPayload{ID: id}
	bs := make([]journal.Built, len(ps))
	var ocids []string
	for i, q := range ps {
		c := record(q, 1, now)
		p.Contracts = append(p.Contracts, c)
		e, leaf, d, err := s.Journal.Build(journal.Record{Body: body(entry.OpRegister, c, id, by), Time: now})
		if err != nil {
			return nil, journal.Leaf{}, err
		}
		bs[i] = journal.Built{Entry: e, Leaf: leaf, Detail: d}
		// Recovery finds the register entries by their leaves.
		sum := sha256.Sum256(leaf)
		p.Leaves = append(p.Leaves, sum[:])
		ocids = append(ocids, c.OCID)
	}
	ch, err := journal.ContractImport.Change(id, p)
	if err != nil {
		return nil, journal.Leaf{}, err
	}
	var leaves []journal.Leaf
	leaves, w, err := s.Journal.ApplyAll(ctx, ch, bs, journal.Record{Body: entry.Contract{Op: entry.OpImport, Count: int64(len(bs)), Import: id, By: by}},
		func(ctx context.Context, c *journal.Change, leaves []journal.Leaf, w journal.Leaf) error {
			idx := make([]uint64, len(leaves))
			for i, l := range leaves {
				idx[i] = l.Index
			}
			return s.commitImport(ctx, c, idx, w)
		})
	if err != nil {
		return nil, w, s.refusal(ctx, err, ocids, len(raw) > 0 && isPackage(raw))
	}
	for i, c := range p.Contracts {
		c.Index, c.Import = leaves[i].Index, w.Index
	}
	return p.Contracts, w, nil
}

// commitImport commits an import with its register entries' indices.
func (s *Service) commitImport(ctx context.Context, c *journal.Change, idx []uint64, w journal.Leaf) error {
	_, p, err := journal.ContractImport.Decode(c)
	if err != nil {
		return err
	}
	p.Indices = idx
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	cc := *c
	cc.Payload = b
	return s.Journal.CommitStore(ctx, &cc, w)
}

// Committer is recovery's committer of an import: it finds the register
// entries in the log, before the closing entry, by their leaves.
func (s *Service) Committer(op journal.Op) journal.Committer {
	if op != journal.ContractImport.Op {
		return nil
	}
	return func(ctx context.Context, c *journal.Change, w journal.Leaf) error {
		_, p, err := journal.ContractImport.Decode(c)
		if err != nil {
			return err
		}
		want := map[string]int{}
		for i, l := range p.Leaves {
			want[string(l)] = i
		}
		idx := make([]uint64, len(p.Leaves))
		found := 0
		const page = 256
		for from := c.From; from < w.Index && found < len(want); from += page {
			leaves, err := s.Log.Leaves(ctx, from, min(from+page, w.Index))
			if err != nil {
				return err
			}
			for k, l := range leaves {
				sum := sha256.Sum256(l)
				if i, ok := want[string(sum[:])]; ok {
					idx[i] = from + uint64(k)
					found++
				}
			}
		}
		if found != len(want) {
			return fmt.Errorf("contracts: import %s: %d of its %d register entries are before its closing entry %d", c.Target, found, len(want), w.Index)
		}
		return s.commitImport(ctx, c, idx, w)
	}
}

// Amend records raw, a later release of a registered contract: a new
// release id, dated no earlier than the last.
func (s *Service) Amend(ctx context.Context, ocid string, raw []byte, by string) (*ombud.Contract, journal.Leaf, error) {
	if len(raw) > MaxImportBytes {
		return nil, journal.Leaf{}, ombud.Errorf(ombud.CodeBodyTooLarge, "a release is at most %d bytes", MaxImportBytes)
	}
	q, err := readOne(raw)
	if err != nil {
		return nil, journal.Leaf{}, Refusal(err)
	}
	if q.c.OCID != ocid {
		return nil, journal.Leaf{}, Refusal(&InvalidError{Problems: []Problem{{Path: "/ocid", Message: fmt.Sprintf("the release is of %s, not of %s", q.c.OCID, ocid)}}})
	}
	prev, err := s.Store.ContractReleases(ctx, ocid)
	if errors.Is(err, ombud.ErrNotFound) {
		return nil, journal.Leaf{}, ombud.Errorf(ombud.CodeNotFound, "no contract %s is registered: register it first (ombud contracts add)", ocid)
	}
	if err != nil {
		return nil, journal.Leaf{}, err
	}
	last := prev[len(prev)-1]
	var probs []Problem
	if slices.ContainsFunc(prev, func(c *ombud.Contract) bool { return c.ReleaseID == q.c.ReleaseID }) {
		probs = append(probs, Problem{Path: "/id", Message: fmt.Sprintf("release %s of %s is registered already: a later release has an id of its own", q.c.ReleaseID, ocid)})
	}
	date, err := time.Parse(time.RFC3339, q.c.Date)
	if err != nil {
		probs = append(probs, Problem{Path: "/date", Message: "the release's date must be a date and time (RFC 3339), such as 2026-03-02T00:00:00Z"})
	} else if lastDate, err := time.Parse(time.RFC3339, releaseDate(last.Release)); err == nil && date.Before(lastDate) {
		probs = append(probs, Problem{Path: "/date", Message: fmt.Sprintf("the release is dated %s, before the last one (%s)", q.c.Date, lastDate.Format(time.RFC3339))})
	}
	if len(probs) > 0 {
		return nil, journal.Leaf{}, Refusal(&InvalidError{Problems: probs})
	}
	c := record(q, last.N+1, s.Journal.Clock().UTC().Truncate(time.Millisecond))
	ch, err := journal.ContractAmend.Change(ocid, journal.ContractAmendPayload{Contract: c})
	if err != nil {
		return nil, journal.Leaf{}, err
	}
	w, err := s.Journal.Apply(ctx, ch, journal.Record{Body: body(entry.OpAmend, c, "", by)}, nil)
	if errors.Is(err, ombud.ErrExists) {
		return nil, w, ombud.Errorf(ombud.CodeConflict, "release %s of %s is registered already", c.ReleaseID, ocid)
	}
	if err != nil {
		return nil, w, s.refusal(ctx, err, []string{ocid}, false)
	}
	c.Index, c.Import = w.Index, w.Index
	return c, w, nil
}

// releaseDate is a registered release's date.
func releaseDate(raw []byte) string {
	var r struct {
		Date string `json:"date"`
	}
	json.Unmarshal(raw, &r)
	return r.Date
}

// readNames are the keys the registry reads from a release (the json
// names of release and its parts). Go's decoder matches a key to a field
// whatever its case, so a key that differs from one of them only in case
// would be read as that field, though the schema, which is exact, let it
// pass as another: such a key is refused.
var readNames = []string{"ocid", "id", "date", "buyer", "name", "parties", "roles", "contracts", "title", "value", "amount", "currency",
	"productFlags", "safeguards", "safeguardExceptions", "clause", "rationale", "approvedBy", "supplyChain", "from", "to", "contract", "releases",
	"auditRights", "downstreamUseLimits", "dataResidency", "customerKeyCustody", "humanReviewOfAIOutputs", "breachNotification"}

// MaxDepth bounds how deep a release's JSON nests: deeper, some JSON
// readers of the export refuse it. MaxValues bounds its values (objects,
// lists and scalars): a real release holds a few hundred, and the schema's
// check of a release costs memory for each value it finds wrong.
const (
	MaxDepth  = 32
	MaxValues = 100_000
)

// fold maps a string to the one form of all the strings it equals under
// Unicode simple case folding (what strings.EqualFold and Go's JSON
// decoder match): each rune becomes the least of its folding orbit.
func fold(s string) string {
	var b strings.Builder
	for _, r := range s {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		b.WriteRune(least)
	}
	return b.String()
}

// readFolds maps each of readNames, folded, to its spelling.
var readFolds = func() map[string]string {
	m := map[string]string{}
	for _, n := range readNames {
		m[fold(n)] = n
	}
	return m
}()

// checkKeys walks raw and returns the first key given twice in an object,
// or given twice under case folding, or differing from a key the registry
// reads only in case, the first object or list nested deeper than
// MaxDepth, or the value past maxValues (0 for no bound), as a problem at
// its path. It reads raw once, in time linear in its length.
func checkKeys(raw []byte, maxValues int) *Problem {
	dec := json.NewDecoder(bytes.NewReader(raw))
	type frame struct {
		obj   bool
		key   string // the object's current key
		index int    // the list's current index
		seen  map[string]string
		isKey bool
	}
	var stack []*frame
	esc := strings.NewReplacer("~", "~0", "/", "~1")
	path := func() string {
		var b strings.Builder
		for _, f := range stack[:len(stack)-1] {
			if f.obj {
				b.WriteString("/" + esc.Replace(f.key))
			} else {
				fmt.Fprintf(&b, "/%d", f.index-1)
			}
		}
		return b.String()
	}
	values := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil // the end, or malformed JSON, which Read reports
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.obj && top.isKey {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:len(stack)-1]
				continue
			}
			k, _ := tok.(string)
			at := path() + "/" + esc.Replace(k)
			f := fold(k)
			switch o, seen := top.seen[f]; {
			case seen && o == k:
				return &Problem{Path: at, Message: fmt.Sprintf("the key %q is given twice", k)}
			case seen:
				return &Problem{Path: at, Message: fmt.Sprintf("the keys %q and %q differ only in case: give one", o, k)}
			}
			if n, ok := readFolds[f]; ok && n != k {
				return &Problem{Path: at, Message: fmt.Sprintf("the key %q differs from OCDS's %q only in case: spell it exactly", k, n)}
			}
			top.seen[f], top.key, top.isKey = k, k, false
			continue
		}
		if values++; maxValues > 0 && values > maxValues {
			return &Problem{Path: "/", Message: fmt.Sprintf("the release holds more than %d values", maxValues)}
		}
		if top != nil && top.obj {
			top.isKey = true // this token is the value; a key comes next
		}
		if top != nil && !top.obj {
			if d, ok := tok.(json.Delim); !ok || d != ']' {
				top.index++
			}
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			if len(stack) >= MaxDepth {
				return &Problem{Path: path(), Message: fmt.Sprintf("the JSON nests deeper than %d levels", MaxDepth)}
			}
			stack = append(stack, &frame{obj: tok == json.Delim('{'), isKey: tok == json.Delim('{'), seen: map[string]string{}})
		case json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
	}
}

// loneSurrogate reports whether raw's strings hold an escaped UTF-16
// surrogate (\uD800 to \uDFFF) that is not half of a pair: Go's decoder
// reads it as U+FFFD, stricter readers refuse the whole document.
func loneSurrogate(raw []byte) bool {
	hex4 := func(i int) (rune, bool) {
		if i+6 > len(raw) || raw[i] != '\\' || raw[i+1] != 'u' {
			return 0, false
		}
		var r rune
		for _, c := range raw[i+2 : i+6] {
			switch {
			case c >= '0' && c <= '9':
				r = r<<4 | rune(c-'0')
			case c >= 'a' && c <= 'f':
				r = r<<4 | rune(c-'a'+10)
			case c >= 'A' && c <= 'F':
				r = r<<4 | rune(c-'A'+10)
			default:
				return 0, false
			}
		}
		return r, true
	}
	in := false
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case !in:
			in = c == '"'
		case c == '"':
			in = false
		case c == '\\':
			r, ok := hex4(i)
			switch {
			case !ok:
				i++ // an escape of one character
			case r >= 0xdc00 && r <= 0xdfff:
				return true // a low half with no high half before it
			case r >= 0xd800 && r <= 0xdbff:
				if lo, ok := hex4(i + 6); !ok || lo < 0xdc00 || lo > 0xdfff {
					return true
				}
				i += 11
			default:
				i += 5
			}
		}
	}
	return false
}

// Check reads raw, a release or a release package, as a registration
// would, without the registry: it returns how many releases it holds, or
// an *InvalidError with every problem.
func Check(raw []byte) (int, error) {
	ps, err := readAll(raw)
	return len(ps), err
}
