// Package store names what a metadata store is: the change machinery of
// package journal and one reading interface per aggregate of package ombud,
// each with its conformance suite in store/storetest, which every
// implementation must pass. store/sqldb is the implementation on SQL, on
// two engines: store/sqlite, embedded, and store/postgres, shared.
//
// Consumers take only the interfaces they call; Store is for what opens,
// serves and closes a whole store (the gateway, the conformance suites).
package store

import (
	"context"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/journal"
)

// Store is the metadata store. Every state change goes through
// journal.ChangeStore (the one pattern of docs/ARCHITECTURE.md); the other
// interfaces read, but for the use counting of reads.
type Store interface {
	journal.ChangeStore
	journal.DetailStore
	ombud.PrincipalStore
	ombud.ObjectStore
	ombud.AuthorizationStore
	ombud.EmergencyStore
	ombud.SystemStore
	ombud.RunStore
	ombud.FlagStore
	ombud.SessionStore
	ombud.RecipientStore
	ombud.NoticeStore
	ombud.TipStore
	ombud.ContractStore
	ombud.QuorumStore
	// OpsInFlight returns the operations of the changes in flight on any
	// of targets, for the reads that must not go on beside one left
	// unfinished.
	OpsInFlight(ctx context.Context, targets []string) ([]journal.Op, error)
	// Ping reports whether the store can serve.
	Ping(ctx context.Context) error
	Close() error
}
