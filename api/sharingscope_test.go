package api_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/internal/ombudtest"
)

// TestAuthorizationTransferScope: a transfer-jurisdiction must be a code
// of the jurisdiction vocabulary; an authorization with a registered one
// and its onward limits registers, and one with an unknown one is
// refused, logging nothing.
func TestAuthorizationTransferScope(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	court := e.Court(t)
	a := ombudtest.Authorization("auth-share", 5)
	a.ShareRecipients, a.ShareClasses, a.TransferJurisdictions, a.ShareOnward = []string{"k3x9q2m7a1b4c5d6"}, []string{"location"}, []string{"EU-FR"}, true
	a.ShareUntil = a.NotAfter.Add(-time.Hour)
	e.Authorize(t, court, a)
	before := e.Size(t)
	e.AwaitSize(t, before)
	reg, ok := e.EntryAt(t, before-1).(*entry.Authorization)
	if !ok || len(reg.TransferJurisdictions) != 1 || reg.TransferJurisdictions[0] != "EU-FR" || !reg.ShareOnward ||
		reg.ShareUntil != a.ShareUntil.Format(time.RFC3339) || len(reg.Recipient) != 1 || !entry.IsPseudonym(reg.Recipient[0]) {
		t.Fatalf("the registration's entry: %+v", e.EntryAt(t, before-1))
	}
	a.ID, a.TransferJurisdictions = "auth-share-2", []string{"XX-ZZ"}
	_, _, err := e.Custody.Access.RegisterAuthorization(context.Background(), court.Sign(t, a), e.AdminID)
	var oe *ombud.Error
	if !errors.As(err, &oe) || oe.Code != ombud.CodeInvalid {
		t.Fatalf("an unknown transfer jurisdiction: %v, want invalid_argument", err)
	}
	if e.Size(t) != before {
		t.Fatal("a refused registration logged something")
	}
}
