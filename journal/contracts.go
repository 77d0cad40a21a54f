package journal

import "github.com/ombud/ombud"

// The registry of procurement contracts' operations.
var (
	// ContractImport registers contracts, all or none: one register
	// entry each, and then the import's closing entry, whose leaf is the
	// change's (ApplyAll). Its target is contract-import:ID; two imports
	// of the same ocid are settled in the store, which refuses the second
	// (ombud.ErrExists).
	ContractImport = Operation[ContractImportPayload]{Op: "contract.import", Kind: "contract-import",
		ID: func(p *ContractImportPayload) string { return p.ID }}
	// ContractAmend records a later release of a registered contract.
	// Its target is contract:OCID, so that amendments of one contract
	// are ordered.
	ContractAmend = Operation[ContractAmendPayload]{Op: "contract.amend", Kind: "contract",
		ID: func(p *ContractAmendPayload) string {
			return idOf(p.Contract, func(c *ombud.Contract) string { return c.OCID })
		}}
)

// contractOperations lists this file's operations, for Operations.
var contractOperations = []Named{ContractImport, ContractAmend}

type (
	// ContractImportPayload: ContractImport. Leaves are the SHA-256 of
	// each contract's register entry, for recovery to find them in the
	// log; Indices, once they are known (at the commit), their indices.
	ContractImportPayload struct {
		ID        string
		Contracts []*ombud.Contract
		Leaves    [][]byte
		Indices   []uint64 `json:",omitempty"`
	}
	// ContractAmendPayload: ContractAmend, the release it records.
	ContractAmendPayload struct{ Contract *ombud.Contract }
)
