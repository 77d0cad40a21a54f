package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/contracts"
)

// contractView is a registered contract as the pages show it: its
// latest release, read, with each clause held or lacking and, when
// lacking, its recorded exception or none (unexplained).
type contractView struct {
	*ombud.Contract
	C       *contracts.Contract
	Clauses []clauseView
	// Flagged: an AI or biometric product lacking a safeguard clause.
	Flagged bool
	// Path names the parties from the vendor to the buyer.
	Path []string
	// Releases, on the contract's own page: every release in order.
	Releases []*ombud.Contract
	// Systems bought under it, each with the clauses its task needs that
	// the contract lacks.
	Systems []systemContract
	// Known says, for each upstream ocid, whether the registry
	// holds it.
	Known map[string]bool
}

// clauseView is one safeguard clause of a contract.
type clauseView struct {
	Clause, Label string
	Held          bool
	// Exception is the lacking clause's recorded exception; nil for an
	// unexplained one.
	Exception *contracts.Exception
}

// systemContract is an analytic system with the clauses its task needs
// that its contract lacks.
type systemContract struct {
	System  *ombud.AnalyticSystem
	Lacking []clauseView
}

// Unexplained reports whether a clause it lacks has no exception.
func (s systemContract) Unexplained() bool {
	return slices.ContainsFunc(s.Lacking, func(c clauseView) bool { return c.Exception == nil })
}

// viewContract reads a registered release for the pages.
func viewContract(c *ombud.Contract) (*contractView, error) {
	k, err := contracts.Parse(c.Release)
	if err != nil {
		return nil, fmt.Errorf("contract %s release %d: %w", c.OCID, c.N, err)
	}
	v := &contractView{Contract: c, C: k}
	for _, cl := range contracts.Clauses {
		cv := clauseView{Clause: cl, Label: contracts.ClauseLabels[cl], Held: slices.Contains(k.Held, cl)}
		for i := range k.Exceptions {
			if k.Exceptions[i].Clause == cl {
				cv.Exception = &k.Exceptions[i]
			}
		}
		v.Clauses = append(v.Clauses, cv)
	}
	v.Flagged = k.NeedsReview() && len(k.Missing) > 0
	for _, id := range append(append([]string{k.Vendor()}, k.Intermediaries()...), k.Buyer.ID) {
		v.Path = append(v.Path, k.PartyName(id))
	}
	return v, nil
}

// Lacking are the clauses it lacks.
func (v *contractView) Lacking() []clauseView {
	var out []clauseView
	for _, c := range v.Clauses {
		if !c.Held {
			out = append(out, c)
		}
	}
	return out
}

// needs returns the clauses a system of task needs that v lacks.
func (v *contractView) needs(task string) []clauseView {
	var out []clauseView
	for _, c := range v.Lacking() {
		if slices.Contains(contracts.Needed(v.C.Flags, task), c.Clause) {
			out = append(out, c)
		}
	}
	return out
}

// contractsView is the registry's page: the contracts that pass the
// filters, their diagram and totals.
type contractsView struct {
	All, Shown []*contractView
	Flag       string
	Missing    string
	Diagram    template.HTML
	Totals     []string
	Flags      []string
	Clauses    []string
}

// missingFilters are the values of /contracts?missing= besides a clause.
const (
	missingAny         = "any"
	missingUnexplained = "unexplained"
)

// registryReadSlots is how many requests of a gateway read the whole
// registry of contracts at once; the others wait their turn, for up to
// registryReadWait, and are then answered busy.
const (
	registryReadSlots = 4
	registryReadWait  = 10 * time.Second
)

// errBusy is a page's answer when every registry read slot stays taken.
var errBusy = errors.New("web: the registry's reads are all taken")

// registrySlot takes a registry read slot, and returns its release.
func (s *Site) registrySlot(ctx context.Context) (func(), error) {
	wait := registryReadWait
	if s.registryWait > 0 {
		wait = s.registryWait
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case s.registryReads <- struct{}{}:
		return func() { <-s.registryReads }, nil
	case <-t.C:
		return nil, errBusy
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// registryFailed answers a failed read of the registry of contracts, if
// err is one: busy (503) when every read slot stayed taken, else 500 with
// title. It reports whether it answered.
func (s *Site) registryFailed(w http.ResponseWriter, r *http.Request, err error, title string) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, errBusy):
		s.fail(w, r, http.StatusServiceUnavailable, "Busy", "The registry of contracts is being read for many requests at once; try again in a moment.")
	default:
		s.Logger.ErrorContext(r.Context(), "site: contracts", "path", r.URL.Path, "err", err)
		s.fail(w, r, http.StatusInternalServerError, title, "The registry of contracts could not be read.")
	}
	return true
}

func (s *Site) readContracts(ctx context.Context) ([]*contractView, error) {
	release, err := s.registrySlot(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	latest, err := s.Contracts.Contracts(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*contractView, 0, len(latest))
	for _, c := range latest {
		v, err := viewContract(c)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// contractsPage shows the registry of procurement pathways, filtered by
// product flag and by a clause lacking.
func (s *Site) contractsPage(w http.ResponseWriter, r *http.Request) {
	p := &page{Nav: "contracts"}
	s.logState(r.Context(), p)
	q := r.URL.Query()
	cv := &contractsView{Flag: q.Get("flag"), Missing: q.Get("missing"), Flags: contracts.Flags, Clauses: contracts.Clauses}
	if cv.Flag != "" && !slices.Contains(contracts.Flags, cv.Flag) {
		s.fail(w, r, http.StatusBadRequest, "Unknown product flag", "Filter by one of: "+strings.Join(contracts.Flags, ", ")+".")
		return
	}
	if m := cv.Missing; m != "" && m != missingAny && m != missingUnexplained && !slices.Contains(contracts.Clauses, m) {
		s.fail(w, r, http.StatusBadRequest, "Unknown clause", "Filter by one of: any, unexplained, "+strings.Join(contracts.Clauses, ", ")+".")
		return
	}
	if s.Contracts != nil {
		all, err := s.readContracts(r.Context())
		if s.registryFailed(w, r, err, "Registry unavailable") {
			return
		}
		cv.All = all
	}
	var shown []*contracts.Contract
	totals := map[string]float64{}
	for _, c := range cv.All {
		if cv.Flag != "" && !slices.Contains(c.Flags, cv.Flag) {
			continue
		}
		switch m := cv.Missing; {
		case m == "":
		case m == missingAny && len(c.Missing) == 0,
			m == missingUnexplained && len(c.Unexplained) == 0,
			m != missingAny && m != missingUnexplained && !slices.Contains(c.Missing, m):
			continue
		}
		cv.Shown = append(cv.Shown, c)
		shown = append(shown, c.C)
		if c.Currency != "" {
			totals[c.Currency] += c.Amount
		}
	}
	for _, cur := range slices.Sorted(maps.Keys(totals)) {
		cv.Totals = append(cv.Totals, cur+" "+money(totals[cur]))
	}
	cv.Diagram = PathwayDiagram("pathways", shown)
	p.Contracts = cv
	s.render(w, r, "contracts", http.StatusOK, p)
}

// contractPage shows one contract: its pathway, its clauses, its
// releases, and the systems bought under it.
func (s *Site) contractPage(w http.ResponseWriter, r *http.Request) {
	p := &page{Nav: "contracts"}
	s.logState(r.Context(), p)
	ocid := r.PathValue("ocid")
	if s.Contracts == nil {
		s.fail(w, r, http.StatusNotFound, "No such contract", "No contract is registered as "+ocid+".")
		return
	}
	rs, err := s.Contracts.ContractReleases(r.Context(), ocid)
	if errors.Is(err, ombud.ErrNotFound) {
		s.fail(w, r, http.StatusNotFound, "No such contract", "No contract is registered as "+ocid+".")
		return
	}
	if err != nil {
		s.Logger.ErrorContext(r.Context(), "site: contract", "err", err)
		s.fail(w, r, http.StatusInternalServerError, "Registry unavailable", "The registry of contracts could not be read.")
		return
	}
	v, err := viewContract(rs[len(rs)-1])
	if err != nil {
		s.Logger.ErrorContext(r.Context(), "site: contract", "err", err)
		s.fail(w, r, http.StatusInternalServerError, "Registry unavailable", "The contract could not be read.")
		return
	}
	v.Releases = rs
	v.Known = map[string]bool{}
	for _, up := range v.Upstream {
		_, err := s.Contracts.ContractReleases(r.Context(), up)
		v.Known[up] = err == nil
	}
	if s.Systems != nil {
		systems, err := s.Systems(r.Context())
		if err != nil {
			s.Logger.ErrorContext(r.Context(), "site: systems", "err", err)
			s.fail(w, r, http.StatusInternalServerError, "Registry unavailable", "The registry of analytic systems could not be read.")
			return
		}
		for _, sys := range systems {
			if sys.Contract == ocid {
				v.Systems = append(v.Systems, systemContract{System: sys, Lacking: v.needs(sys.Task)})
			}
		}
	}
	p.Contract = v
	p.Charts = map[string]template.HTML{"pathway": PathwayDiagram("pathway", []*contracts.Contract{v.C})}
	s.render(w, r, "contract", http.StatusOK, p)
}

// systemContracts pairs each system with its contract's lacking clauses
// its task needs, for /systems and the disclosure page.
func (s *Site) systemContracts(ctx context.Context, systems []*ombud.AnalyticSystem) (map[string]systemContract, error) {
	out := map[string]systemContract{}
	if s.Contracts == nil {
		return out, nil
	}
	all, err := s.readContracts(ctx)
	if err != nil {
		return nil, err
	}
	byOCID := map[string]*contractView{}
	for _, c := range all {
		byOCID[c.OCID] = c
	}
	for _, sys := range systems {
		if c := byOCID[sys.Contract]; c != nil {
			out[sys.ID] = systemContract{System: sys, Lacking: c.needs(sys.Task)}
		}
	}
	return out, nil
}

// exportCache holds the export last built, by the registry's version and
// the address it names: every request for the same registry shares its
// bytes, so that slow readers hold no registry of their own.
type exportCache struct {
	mu      sync.Mutex
	version string
	body    []byte
}

// contractsExport serves the registry as an OCDS release package: every
// release of every contract, each as registered, byte for byte, so that
// its SHA-256 is the one its log entry holds.
func (s *Site) contractsExport(w http.ResponseWriter, r *http.Request) {
	body, err := s.exportBody(r)
	if s.registryFailed(w, r, err, "Registry unavailable") {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(body)
}

// exportBody returns the export of the registry as it stands, built once
// for each version of the registry (under a registry read slot).
func (s *Site) exportBody(r *http.Request) ([]byte, error) {
	ctx := r.Context()
	base := s.baseURL(r)
	version := "none"
	if s.Contracts != nil {
		v, err := s.Contracts.ContractsVersion(ctx)
		if err != nil {
			return nil, err
		}
		version = v
	}
	version += " " + base
	s.export.mu.Lock()
	if s.export.version == version {
		b := s.export.body
		s.export.mu.Unlock()
		return b, nil
	}
	s.export.mu.Unlock()
	var rs []*ombud.Contract
	if s.Contracts != nil {
		release, err := s.registrySlot(ctx)
		if err != nil {
			return nil, err
		}
		rs, err = s.Contracts.ContractReleases(ctx, "")
		release()
		if err != nil {
			return nil, err
		}
	}
	// The package is dated by its latest release's registration, so that
	// the same registry gives the same bytes.
	published := time.Unix(0, 0).UTC()
	for _, c := range rs {
		if c.Registered.After(published) {
			published = c.Registered
		}
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"uri":%s,"version":"1.1","publishedDate":%q,"publisher":{"name":%s},"extensions":[%s],"releases":[`,
		jsonString(base+"/contracts/export.json"), published.Format(time.RFC3339), jsonString(s.Origin), jsonString(base+"/contracts/extension/extension.json"))
	for i, c := range rs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(c.Release)
	}
	b.WriteString("]}\n")
	// A version read before the releases may be older than they are: the
	// next request reads the version again and builds anew.
	s.export.mu.Lock()
	s.export.version, s.export.body = version, b.Bytes()
	s.export.mu.Unlock()
	return b.Bytes(), nil
}

// contractsExtension serves ombud's OCDS extension, for the tools that
// read the export.
func (s *Site) contractsExtension(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	b, ok := contracts.ExtensionFile(name)
	if !ok {
		s.fail(w, r, http.StatusNotFound, "No such file", "The extension's files are "+strings.Join(contracts.ExtensionFiles, ", ")+".")
		return
	}
	ctype := "application/json"
	if strings.HasSuffix(name, ".csv") {
		ctype = "text/csv; charset=utf-8"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Write(b)
}

// jsonString is s as a JSON string.
func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
