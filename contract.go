package ombud

import (
	"context"
	"time"
)

// Contract is one release of a contract in the public registry of
// procurement pathways: an Open Contracting Data Standard release, as
// registered, and what the registry reads of it. Procurement is public
// information: all of it is.
type Contract struct {
	OCID string
	// N numbers the contract's releases: 1 registered it, each later one
	// amended it.
	N         int
	ReleaseID string
	// Release is the release's JSON as registered, compacted: what
	// /contracts/export.json serves. SHA256 ("sha256:" and hex) is its
	// hash, which its log entry holds.
	Release []byte
	SHA256  string
	Title   string
	Buyer   string // party ids, as codes
	Vendor  string
	// Intermediaries are the resellers and integrators of its supply
	// chain, in order from the vendor.
	Intermediaries []string
	Flags          []string // product flags
	// Missing are the safeguard clauses it lacks, and Unexplained those
	// of them with no recorded exception.
	Missing, Unexplained []string
	// Upstream are the ocids of the contracts its supply chain links to.
	Upstream   []string
	Amount     float64
	Currency   string
	Registered time.Time
	// Index is its entry in the log; Import the index of its import's
	// closing entry (that of its amendment, for N > 1).
	Index, Import uint64
}

// ContractStore reads the registry of contracts.
type ContractStore interface {
	// Contracts returns the latest release of every registered contract,
	// by ocid.
	Contracts(ctx context.Context) ([]*Contract, error)
	// ContractReleases returns every release of the contract ocid in
	// order (ErrNotFound if it is not registered), or of every contract
	// when ocid is "", by ocid and then in order.
	ContractReleases(ctx context.Context, ocid string) ([]*Contract, error)
	// ContractsVersion names the registry's state: it changes whenever a
	// release is registered, and only then.
	ContractsVersion(ctx context.Context) (string, error)
}
