package audit

import (
	"slices"
	"strings"

	"github.com/ombud/ombud/contracts"
	"github.com/ombud/ombud/entry"
)

// ContractState is a registered contract as its latest release's entry
// states it.
type ContractState struct {
	OCID        string   `json:"ocid"`
	Index       uint64   `json:"index"`
	Flags       []string `json:"flags,omitempty"`
	Unexplained []string `json:"unexplained,omitempty"`
}

// SystemContractState is the contract an analytic system was registered
// under (its ocid) and its task.
type SystemContractState struct {
	Contract string `json:"contract,omitempty"`
	Task     string `json:"task"`
}

// contract reads a contract entry: a register entry waits for its
// import's closing entry, which must close exactly the register entries
// before it; an amendment replaces a registered contract's state.
func (r *rules) contract(idx uint64, b *entry.Contract, add adder) {
	st := &ContractState{OCID: b.OCID, Index: idx, Flags: b.ProductFlags, Unexplained: b.Unexplained}
	switch b.Op {
	case entry.OpRegister:
		r.st.Imports[b.Import] = append(r.st.Imports[b.Import], st)
	case entry.OpImport:
		got := r.st.Imports[b.Import]
		delete(r.st.Imports, b.Import)
		if int64(len(got)) != b.Count {
			add(RuleContractImportIncomplete, "an import closes %d contracts, and %d register entries of its ref precede it", b.Count, len(got))
		}
		for _, c := range got {
			if _, ok := r.st.Contracts[c.OCID]; ok {
				add(RuleContractImportIncomplete, "contract %s is registered again (its entry %d), not amended", c.OCID, c.Index)
				continue
			}
			r.st.Contracts[c.OCID] = c
		}
	case entry.OpAmend:
		if _, ok := r.st.Contracts[b.OCID]; !ok {
			add(RuleContractImportIncomplete, "an amendment of contract %s, which no import registered before it", b.OCID)
			return
		}
		r.st.Contracts[b.OCID] = st
	}
}

// runContract reports a run of a system whose contract, as registered
// when the run started, lacks with no recorded exception a clause the
// system's task needs (contracts.Needed).
func (r *rules) runContract(b *entry.Run, add adder) {
	sc, ok := r.st.SystemContracts[b.System]
	if !ok || sc.Contract == "" {
		return
	}
	c := r.st.Contracts[sc.Contract]
	if c == nil {
		return
	}
	var lacking []string
	for _, cl := range contracts.Needed(c.Flags, sc.Task) {
		if slices.Contains(c.Unexplained, cl) {
			lacking = append(lacking, cl)
		}
	}
	if len(lacking) > 0 {
		add(RuleRunContractUnexplained, "run %s of a %s system bought under contract %s (its entry %d), which lacks %s with no recorded exception",
			b.Run, sc.Task, c.OCID, c.Index, strings.Join(lacking, ", "))
	}
}
