package contracts

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/entry"
)

// The safeguard clauses, in the order the registry shows them.
var Clauses = []string{"auditRights", "downstreamUseLimits", "dataResidency", "customerKeyCustody", "humanReviewOfAIOutputs", "breachNotification"}

// ClauseLabels name the clauses as the pages say them.
var ClauseLabels = map[string]string{
	"auditRights":            "audit rights",
	"downstreamUseLimits":    "limits on downstream use",
	"dataResidency":          "data residency",
	"customerKeyCustody":     "key custody by the customer",
	"humanReviewOfAIOutputs": "human review of AI outputs",
	"breachNotification":     "breach notification",
}

// FlagLabels name the product flags as the pages say them.
var FlagLabels = map[string]string{"cloud": "cloud", "ai": "AI", "biometric": "biometric", "data_brokerage": "data brokerage"}

// NeededByAI are the clauses an analytic system needs of the contract it
// was bought under when the product is AI or biometric, or its task is
// biometric: without them no one can audit it, a human need not review
// what it outputs, its vendor may use the data further, and the vendor
// holds the keys.
var NeededByAI = []string{"auditRights", "humanReviewOfAIOutputs", "downstreamUseLimits", "customerKeyCustody"}

// Needed are the clauses a system of task needs of a contract with the
// product flags flags.
func Needed(flags []string, task string) []string {
	if slices.Contains(flags, "ai") || slices.Contains(flags, "biometric") || ombud.IsBiometricTask(task) {
		return NeededByAI
	}
	return nil
}

// The product flags.
var Flags = []string{"cloud", "ai", "biometric", "data_brokerage"}

// Exception is a lacking clause's recorded exception: its published
// rationale and the body that approved it.
type Exception struct {
	Clause     string `json:"clause"`
	Rationale  string `json:"rationale"`
	ApprovedBy string `json:"approvedBy"`
}

// Link is one step of a supply chain: from one party to the next, and the
// upstream contract's ocid when the step is a contract of its own.
type Link struct {
	From     string `json:"from"`
	To       string `json:"to"`
	Contract string `json:"contract,omitempty"`
}

// Party is a party of a release, by its id.
type Party struct {
	ID    string   `json:"id"`
	Name  string   `json:"name"`
	Roles []string `json:"roles"`
}

// Contract is what the registry keeps of a release: its parties by role,
// its product, the clauses it holds and lacks, and its supply chain.
type Contract struct {
	OCID string
	// ReleaseID and Date are the release's id and date.
	ReleaseID, Date string
	Title           string
	Buyer           Party
	Parties         []Party
	Flags           []string
	// Held and Missing are the clauses the contract holds and lacks, in
	// the order of Clauses.
	Held, Missing []string
	Exceptions    []Exception
	Chain         []Link
	Amount        float64
	Currency      string
}

// release is the part of a release the registry reads.
type release struct {
	OCID    string  `json:"ocid"`
	ID      string  `json:"id"`
	Date    string  `json:"date"`
	Buyer   *Party  `json:"buyer"`
	Parties []Party `json:"parties"`
	// The first contract of the release is the one registered.
	Contracts []struct {
		Title string `json:"title"`
		Value *struct {
			Amount   float64 `json:"amount"`
			Currency string  `json:"currency"`
		} `json:"value"`
		Flags      []string        `json:"productFlags"`
		Safeguards map[string]bool `json:"safeguards"`
		Exceptions []Exception     `json:"safeguardExceptions"`
		Chain      []Link          `json:"supplyChain"`
	} `json:"contracts"`
}

// Read validates a release (ValidateRelease) and reads the contract it
// records, checking what the schema cannot: one contract, a buyer among
// the parties, a supply chain whose links name parties of the release,
// run from a vendor to the buyer without a loop, and an exception only for
// a clause the contract lacks.
func Read(raw []byte) (*Contract, error) {
	if err := ValidateRelease(raw); err != nil {
		return nil, err
	}
	return read(raw, true)
}

// Parse reads a release the registry holds, which Read accepted when it
// was registered, without validating it again: for the pages, which read
// every contract on each request.
func Parse(raw []byte) (*Contract, error) { return read(raw, false) }

func read(raw []byte, check bool) (*Contract, error) {
	var r release
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, &InvalidError{Problems: []Problem{{Path: "/", Message: err.Error()}}}
	}
	var probs []Problem
	bad := func(path, format string, a ...any) {
		probs = append(probs, Problem{Path: path, Message: fmt.Sprintf(format, a...)})
	}
	if len(r.Contracts) != 1 {
		bad("/contracts", "a registered release records exactly one contract, not %d", len(r.Contracts))
		return nil, &InvalidError{Problems: probs}
	}
	k := r.Contracts[0]
	c := &Contract{OCID: r.OCID, ReleaseID: r.ID, Date: r.Date, Title: k.Title, Parties: r.Parties, Flags: k.Flags, Exceptions: k.Exceptions, Chain: k.Chain}
	if k.Value != nil {
		c.Amount, c.Currency = k.Value.Amount, k.Value.Currency
	}
	if msg := checkOCID(r.OCID); msg != "" {
		bad("/ocid", "%s", msg)
	}
	if _, err := time.Parse(time.RFC3339, r.Date); err != nil {
		bad("/date", "the release's date must be a date and time as RFC 3339 writes it, such as 2026-03-02T00:00:00Z")
	}
	text := func(path, s string) {
		if err := ombud.ValidateText(path, s); err != nil {
			bad(path, "%s", ombud.ErrorMessage(err))
		}
	}
	byID := map[string]Party{}
	for i, p := range r.Parties {
		switch {
		case p.ID == "":
			bad(fmt.Sprintf("/parties/%d/id", i), "a party's id is required")
		case byID[p.ID].ID != "":
			bad(fmt.Sprintf("/parties/%d/id", i), "the party %q is given twice", p.ID)
		case !IsCode(p.ID):
			bad(fmt.Sprintf("/parties/%d/id", i), "a party's id is published in the log: "+codeRule)
		default:
			if err := ombud.CheckPublicValue("the party's id", p.ID); err != nil {
				bad(fmt.Sprintf("/parties/%d/id", i), "%s", ombud.ErrorMessage(err))
			}
		}
		text(fmt.Sprintf("/parties/%d/name", i), p.Name)
		byID[p.ID] = p
	}
	text("/contracts/0/title", k.Title)
	switch {
	case r.Buyer == nil:
		bad("/buyer", "the buyer is required")
	default:
		b, ok := byID[r.Buyer.ID]
		if !ok || !slices.Contains(b.Roles, "buyer") {
			bad("/buyer/id", "the buyer %q is not a party with the role buyer", r.Buyer.ID)
		}
		c.Buyer = b
	}
	for _, cl := range Clauses {
		if k.Safeguards[cl] {
			c.Held = append(c.Held, cl)
		} else {
			c.Missing = append(c.Missing, cl)
		}
	}
	if len(k.Exceptions) > len(Clauses) {
		bad("/contracts/0/safeguardExceptions", "at most one exception for each of the %d clauses", len(Clauses))
		return nil, &InvalidError{Problems: probs}
	}
	excepted := map[string]bool{}
	for i, e := range k.Exceptions {
		at := fmt.Sprintf("/contracts/0/safeguardExceptions/%d", i)
		if k.Safeguards[e.Clause] {
			bad(at+"/clause", "an exception for %s, which the contract holds", e.Clause)
		}
		if excepted[e.Clause] {
			bad(at+"/clause", "a second exception for %s", e.Clause)
		}
		excepted[e.Clause] = true
		text(at+"/rationale", e.Rationale)
		text(at+"/approvedBy", e.ApprovedBy)
	}
	if n := len(c.Intermediaries()); len(k.Chain) == 0 && n > MaxChain {
		bad("/parties", "at most %d resellers and integrators: they are written in the log", MaxChain)
		return nil, &InvalidError{Problems: probs}
	}
	if len(k.Chain) > MaxChain {
		bad("/contracts/0/supplyChain", "a supply chain of at most %d links: its parties are written in the log", MaxChain)
		return nil, &InvalidError{Problems: probs}
	}
	for i, l := range k.Chain {
		switch {
		case l.Contract == "":
		case checkOCID(l.Contract) != "":
			bad(fmt.Sprintf("/contracts/0/supplyChain/%d/contract", i), "an upstream contract's %s", checkOCID(l.Contract))
		case l.Contract == r.OCID:
			probs = append(probs, Problem{Path: fmt.Sprintf("/contracts/0/supplyChain/%d/contract", i), Code: CircularChain,
				Message: "the chain is circular: the contract names itself as its upstream contract"})
		}
	}
	probs = append(probs, checkChain(k.Chain, byID, c.Buyer.ID)...)
	if len(probs) > 0 && check {
		return nil, &InvalidError{Problems: probs}
	}
	return c, nil
}

// checkChain checks a supply chain: each link between two parties of the
// release, one path from a party with the role vendor to the buyer, and no
// loop.
func checkChain(chain []Link, parties map[string]Party, buyer string) []Problem {
	var probs []Problem
	next := map[string]string{}
	into := map[string]bool{}
	for i, l := range chain {
		for _, end := range []struct{ name, id string }{{"from", l.From}, {"to", l.To}} {
			if _, ok := parties[end.id]; !ok {
				probs = append(probs, Problem{Path: fmt.Sprintf("/contracts/0/supplyChain/%d/%s", i, end.name), Message: fmt.Sprintf("%q is not a party of the release", end.id)})
			}
		}
		if _, dup := next[l.From]; dup {
			probs = append(probs, Problem{Path: fmt.Sprintf("/contracts/0/supplyChain/%d/from", i), Message: fmt.Sprintf("%q passes the product on twice: a chain is one path", l.From)})
		}
		next[l.From] = l.To
		into[l.To] = true
	}
	if len(probs) > 0 || len(chain) == 0 {
		return probs
	}
	// The one start: a party nothing passes the product to.
	var starts []string
	for from := range next {
		if !into[from] {
			starts = append(starts, from)
		}
	}
	if len(starts) != 1 {
		return append(probs, Problem{Path: "/contracts/0/supplyChain", Message: "the chain is circular: it has no start, or more than one", Code: CircularChain})
	}
	seen := map[string]bool{}
	at := starts[0]
	if !slices.Contains(parties[at].Roles, "vendor") && !slices.Contains(parties[at].Roles, "manufacturer") {
		probs = append(probs, Problem{Path: "/contracts/0/supplyChain/0/from", Message: fmt.Sprintf("the chain starts at %q, which is not a vendor or a manufacturer", at)})
	}
	for {
		if seen[at] {
			return append(probs, Problem{Path: "/contracts/0/supplyChain", Message: "the chain is circular: " + at + " comes back", Code: CircularChain})
		}
		seen[at] = true
		to, ok := next[at]
		if !ok {
			break
		}
		at = to
	}
	if len(seen) != len(next)+1 {
		probs = append(probs, Problem{Path: "/contracts/0/supplyChain", Message: "the chain is circular: some links are not on the path from its start", Code: CircularChain})
	}
	if at != buyer {
		probs = append(probs, Problem{Path: "/contracts/0/supplyChain", Message: fmt.Sprintf("the chain ends at %q, not at the buyer", at)})
	}
	return probs
}

// NeedsReview reports whether the contract's product is AI or biometric:
// its lacking clauses are flagged.
func (c *Contract) NeedsReview() bool {
	return slices.Contains(c.Flags, "ai") || slices.Contains(c.Flags, "biometric")
}

// Unexplained are the clauses the contract lacks with no recorded
// exception.
func (c *Contract) Unexplained() []string {
	var out []string
	for _, m := range c.Missing {
		if !slices.ContainsFunc(c.Exceptions, func(e Exception) bool { return e.Clause == m }) {
			out = append(out, m)
		}
	}
	return out
}

// Vendor is the party the product comes from: the start of the supply
// chain, or else the first party with the role vendor, manufacturer or
// supplier.
func (c *Contract) Vendor() string {
	if len(c.Chain) > 0 {
		into := map[string]bool{}
		for _, l := range c.Chain {
			into[l.To] = true
		}
		for _, l := range c.Chain {
			if !into[l.From] {
				return l.From
			}
		}
	}
	for _, role := range []string{"vendor", "manufacturer", "supplier"} {
		for _, p := range c.Parties {
			if slices.Contains(p.Roles, role) {
				return p.ID
			}
		}
	}
	return ""
}

// Intermediaries are the parties between the vendor and the buyer: the
// inner steps of the supply chain in order, or, with no chain, the parties
// with the role reseller or integrator.
func (c *Contract) Intermediaries() []string {
	var out []string
	if len(c.Chain) > 0 {
		next := map[string]string{}
		for _, l := range c.Chain {
			next[l.From] = l.To
		}
		for at := next[c.Vendor()]; at != "" && at != c.Buyer.ID && len(out) < len(c.Chain); at = next[at] {
			out = append(out, at)
		}
		return out
	}
	for _, p := range c.Parties {
		if slices.Contains(p.Roles, "reseller") || slices.Contains(p.Roles, "integrator") {
			out = append(out, p.ID)
		}
	}
	return out
}

// Upstream are the ocids of the contracts the supply chain links to, in
// its order.
func (c *Contract) Upstream() []string {
	var out []string
	for _, l := range c.Chain {
		if l.Contract != "" && !slices.Contains(out, l.Contract) {
			out = append(out, l.Contract)
		}
	}
	return out
}

// PartyName returns the name of the party id, or the id.
func (c *Contract) PartyName(id string) string {
	for _, p := range c.Parties {
		if p.ID == id && p.Name != "" {
			return p.Name
		}
	}
	return id
}

// MaxChain bounds a supply chain's links: its parties between the vendor
// and the buyer, and the upstream contracts it names, are lists in the
// contract's log entry.
const MaxChain = 32

// checkOCID says what is wrong with an ocid, "" if nothing: OCDS's form
// ("ocds-", the publisher's prefix, its own id), at most 64 bytes of a
// code with no / (it names the contract's page), and nothing that looks
// like personal data, since the log keeps it for ever.
func checkOCID(ocid string) string {
	const rule = "ocid is published in the log and names the contract's page: OCDS's form, ocds- then the publisher's prefix and the process's id, at most 64 of A-Z a-z 0-9 . _ : + = -"
	if !strings.HasPrefix(ocid, "ocds-") || len(ocid) <= len("ocds-") || len(ocid) > 64 || !IsCode(ocid) || strings.Contains(ocid, "/") {
		return rule
	}
	if err := ombud.CheckPublicValue("ocid", ocid); err != nil {
		return ombud.ErrorMessage(err)
	}
	return ""
}

// codeRule is what a code is, for the problems that need one.
const codeRule = "1 to 128 of A-Z a-z 0-9 . _ : + / = -, no spaces"

// IsCode reports whether s may stand in a public field of the log: the
// log's own rule for a code, without @, which would read as an e-mail
// address, a person's.
func IsCode(s string) bool { return entry.IsCode(s) && !strings.Contains(s, "@") }
