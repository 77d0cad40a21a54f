package api_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/apiv1"
	"github.com/ombud/ombud/client"
	"github.com/ombud/ombud/internal/ombudtest"
	"github.com/ombud/ombud/receipt"
)

// TestClient drives a deployment through the client as an integrator
// would: a principal, an object put and read under an authorization, a
// refused read with its logged receipt, a hold, and the receipt of a
// decision verified offline.
func TestClient(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	ctx := context.Background()
	admin, err := client.New(e.URL, e.AdminToken)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.New("ftp://x", ""); err == nil {
		t.Fatal("an ftp URL is accepted")
	}
	p, err := admin.CreatePrincipal(ctx, apiv1.CreatePrincipal{Name: "Case team 4", Roles: []ombud.Role{ombud.RoleAnalyst, ombud.RoleIngestor}})
	if err != nil || p.Token == "" || p.Receipt == nil {
		t.Fatalf("CreatePrincipal: %+v %v", p, err)
	}
	ps, err := admin.Principals(ctx)
	if err != nil || len(ps) != 1+ombudtest.Admins() {
		t.Fatalf("Principals: %d %v", len(ps), err)
	}
	court := e.Court(t)
	if _, err := admin.RegisterAuthorization(ctx, court.Sign(t, ombudtest.Authorization("auth-1", 5))); err != nil {
		t.Fatalf("RegisterAuthorization: %v", err)
	}
	analyst, _ := client.New(e.URL, p.Token)
	body := []byte("plate scan")
	o, err := analyst.PutObject(ctx, bytes.NewReader(body), client.Put{Class: "location", Subjects: []string{"plate:B-XY-123"}, Size: int64(len(body))})
	if err != nil || o.Receipt == nil {
		t.Fatalf("PutObject: %+v %v", o, err)
	}
	r, err := analyst.GetObject(ctx, o.ID, client.Read{Purpose: "criminal_investigation", Authorization: "auth-1"})
	if err != nil {
		t.Fatalf("GetObject: %v", err)
	}
	got, _ := io.ReadAll(r)
	r.Close()
	if !bytes.Equal(got, body) || r.Receipt == "" {
		t.Fatalf("read %q, receipt %q", got, r.Receipt)
	}
	// A refused read: a coded *Error carrying the receipt of the denial.
	_, err = analyst.GetObject(ctx, o.ID, client.Read{Purpose: "criminal_investigation"})
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != 403 || ce.Code == "" || ce.Receipt == nil || client.ErrorCode(err) != ce.Code {
		t.Fatalf("a read without its authorization: %#v", err)
	}
	if !strings.Contains(err.Error(), "decision logged as entry") {
		t.Fatalf("error text %q", err)
	}
	raw, err := analyst.Receipt(ctx, *ce.Receipt)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := receipt.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if _, en, err := receipt.Verify(rc, e.Dir.Verifier); err != nil || en.Kind != "access" {
		t.Fatalf("the denial's receipt: %v %v", en, err)
	}
	// The wrong role is refused; the answer is never a nil pointer.
	out, err := analyst.SetHold(ctx, o.ID, apiv1.Order{Reason: "litigation", Authorization: "order 1"})
	if client.ErrorCode(err) != ombud.CodeForbidden || out == nil {
		t.Fatalf("an analyst's hold: %v %v", out, err)
	}
	if out, err := admin.SetHold(ctx, o.ID, apiv1.Order{Reason: "litigation", Authorization: "order 1"}); err != nil || out.Hold == nil || !*out.Hold || out.Receipt == 0 {
		t.Fatalf("SetHold: %+v %v", out, err)
	}
	if st, err := admin.ObjectStatus(ctx, o.ID); err != nil || st.Hold == nil {
		t.Fatalf("ObjectStatus: %+v %v", st, err)
	}
	// The registry of analytic systems: registered, listed publicly, retired.
	done, err := admin.RegisterSystem(ctx, apiv1.RegisterSystem{Name: "plates-1", Vendor: "vendor-y", Task: "plate_reading", Classes: []string{"location"},
		Model: "anpr", Version: "2.0", Accuracy: apiv1.Accuracy{Threshold: 0.5}})
	if err != nil || done.ID == "" || done.Receipt == 0 {
		t.Fatalf("RegisterSystem: %+v %v", done, err)
	}
	public, _ := client.New(e.URL, "")
	if list, err := public.Systems(ctx); err != nil || len(list) != 1 || list[0].Name != "plates-1" {
		t.Fatalf("Systems: %+v %v", list, err)
	}
	if out, err := admin.RetireVersion(ctx, done.ID, "2.0"); err != nil || !out.Retired {
		t.Fatalf("RetireVersion: %+v %v", out, err)
	}
	if _, err := admin.RetireVersion(ctx, done.ID, "2.0"); client.ErrorCode(err) != ombud.CodeConflict {
		t.Fatalf("retiring twice: %v", err)
	}
}
