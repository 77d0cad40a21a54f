package access_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/access"
)

func FuzzParsePolicy(f *testing.F) {
	f.Add([]byte(access.DefaultPolicy))
	f.Add([]byte(`permit (principal, action, resource);`))
	f.Add([]byte(`permit (principal, action, resource) when { context.nosuch == 1 };`))
	f.Add([]byte(`forbid (principal, action, resource) unless { context.roles.contains(1) };`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := access.ParsePolicy(b)
		if err != nil {
			return
		}
		// A policy that loads must decide every request without error.
		p.Decide(access.Input{Principal: "x", Roles: []string{"analyst", "admin"}, Class: "location", Sensitive: true, Purpose: "p", Authorized: true, Emergency: true, Object: "o"})
	})
}

func TestPolicyChecks(t *testing.T) {
	t.Parallel()
	p, err := access.ParsePolicy([]byte(access.DefaultPolicy))
	if err != nil {
		t.Fatal(err)
	}
	in := access.Input{Principal: "p", Roles: []string{"analyst"}, Class: "location", Sensitive: true, Purpose: "x", Object: "o"}
	if ok, _ := p.Decide(in); ok {
		t.Fatal("default policy permits a sensitive read without authorization")
	}
	in.Authorized = true
	if ok, ids := p.Decide(in); !ok || len(ids) != 1 || ids[0] != "read-sensitive-authorized" {
		t.Fatalf("default policy: %v %v", ok, ids)
	}
	in.Emergency, in.Authorized = true, false
	if ok, _ := p.Decide(in); ok {
		t.Fatal("default policy permits emergency reads")
	}
	for _, bad := range []string{`permit (`, `permit (principal, action, resource) when { context.nosuch };`, `permit (principal, action, resource) when { context.class > 3 };`} {
		if _, err := access.ParsePolicy([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func FuzzOpenAuthorization(f *testing.F) {
	vectors, _ := filepath.Glob(filepath.Join("..", "testdata", "authorization", "*.note"))
	for _, v := range vectors {
		b, _ := os.ReadFile(v)
		f.Add(b)
	}
	f.Add([]byte(ombud.AuthorizationHeader + "\nid: x\n\n— a b\n"))
	pub, _ := os.ReadFile(filepath.Join("..", "testdata", "authorization", "issuer.pub"))
	v, err := note.NewVerifier(strings.TrimSpace(string(pub)))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ombud.OpenAuthorization(b, note.VerifierList(v))
		if err != nil {
			return
		}
		if err := a.Validate(); err != nil {
			t.Fatalf("opened an invalid authorization: %v", err)
		}
		if _, err := ombud.ParseAuthorization(a.Text()); err != nil {
			t.Fatalf("Text() of an opened authorization does not parse: %v", err)
		}
	})
}
