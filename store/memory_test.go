package store_test

import (
	"testing"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/store"
)

func TestMemory(t *testing.T) {
	store.TestStore(t, func(*testing.T) ombud.Store { return store.NewMemory() })
}
