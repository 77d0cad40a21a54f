package datadir

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestCreateOpen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "d")
	d, err := Create(dir, CreateOptions{Origin: "example.org/ombud"})
	if err != nil {
		t.Fatal(err)
	}
	if d.Signer.Name() != "example.org/ombud" || d.Config.Log.BatchMaxAge.Duration == 0 {
		t.Fatalf("%+v", d)
	}
	if _, err := Create(dir, CreateOptions{}); !errors.Is(err, ErrExists) {
		t.Fatalf("second Create: %v", err)
	}
	// An empty directory may be initialised.
	empty := t.TempDir()
	if _, err := Create(empty, CreateOptions{}); err != nil {
		t.Fatalf("Create on an empty directory: %v", err)
	}
	// A key file others can read is refused.
	os.Chmod(filepath.Join(dir, "keys", "linkage.key"), 0o644)
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("Open with a readable key: %v", err)
	}
	if _, err := Open(t.TempDir()); !errors.Is(err, ErrNotInitialized) {
		t.Fatalf("Open on an empty dir: %v", err)
	}
	for _, o := range []string{"has space", "a+b", "", strings.Repeat("a", 200), "-lead"} {
		if o == "" {
			continue
		}
		if _, err := Create(filepath.Join(t.TempDir(), "x"), CreateOptions{Origin: o}); err == nil {
			t.Errorf("origin %q accepted", o)
		}
	}
}

func TestParseConfig(t *testing.T) {
	d := Defaults()
	c, err := ParseConfig([]byte(configTemplate(CreateOptions{Origin: DefaultOrigin})))
	if err != nil || !reflect.DeepEqual(c.Server, d.Server) || c.Log != d.Log || c.Storage != d.Storage || c.Runtime != d.Runtime || !reflect.DeepEqual(c.Tips, d.Tips) {
		t.Fatalf("the shipped template does not parse to the defaults: %v\n%+v\n%+v", err, c, d)
	}
	for _, bad := range []string{
		`[log]` + "\n" + `batch_max_age = "soon"`,
		`[log]` + "\n" + `batch_max_sise = 4`,
		`[server]` + "\n" + `listen = "nowhere"`,
		`[server]` + "\n" + `trusted_proxies = ["the proxy"]`,
		`[log]` + "\n" + `checkpoint_interval = "10ms"`,
		`[log]` + "\n" + `batch_max_age = "-1s"`,
		`[runtime]` + "\n" + `gc_percent = 1`,
		`[[`,
		"[[class]]\nname = \"x\"\nsensitivity = \"secret\"\nretention = \"30d\"",
		"[[class]]\nname = \"x\"\nsensitivity = \"ordinary\"\nretention = \"thirty\"",
		"[[class]]\nname = \"Bad Name\"\nsensitivity = \"ordinary\"\nretention = \"30d\"",
		"[tips]\nrecipients = [\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\"]",
		"[tips]\nrecipients = [\"AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQSJSR6G\"]",
		"[tips]\nmax_bytes = 0",
		"[tips]\nmax_bytes = 1000000000",
	} {
		if _, err := ParseConfig([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

// TestTipsConfig: the intake's recipients are age public keys, and a
// configuration without the section reads as the defaults.
func TestTipsConfig(t *testing.T) {
	c, err := ParseConfig([]byte("[tips]\nrecipients = [\"age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj\"]\nmax_bytes = 1048576\n"))
	if err != nil {
		t.Fatal(err)
	}
	if rs, err := c.Tips.AgeRecipients(); err != nil || len(rs) != 1 || c.Tips.MaxBytes != 1<<20 {
		t.Fatalf("the intake's recipients: %v %v", rs, err)
	}
	if c, err := ParseConfig([]byte("[sharing]\nenabled = true\n")); err != nil || c.Tips.MaxBytes != Defaults().Tips.MaxBytes {
		t.Fatalf("a configuration without [tips]: %+v %v", c.Tips, err)
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(configTemplate(CreateOptions{Origin: DefaultOrigin})))
	f.Add([]byte("[log]\nbatch_max_size = 3\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseConfig(b)
		if err == nil {
			if err := c.Validate(); err != nil {
				t.Fatalf("ParseConfig accepted an invalid config: %v", err)
			}
		}
	})
}

func TestTemplateClassesAreTheDefaults(t *testing.T) {
	c, err := ParseConfig([]byte(configTemplate(CreateOptions{Origin: DefaultOrigin})))
	if err != nil {
		t.Fatal(err)
	}
	fromFile, _ := c.DataClasses()
	defaults, _ := Defaults().DataClasses()
	if !reflect.DeepEqual(fromFile, defaults) {
		t.Fatalf("ombud.toml's classes differ from ombud.DefaultClasses:\n%v\n%v", fromFile, defaults)
	}
}

func FuzzParseRetention(f *testing.F) {
	f.Add("30d")
	f.Add("720h")
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseRetention(s)
		if err == nil && d < 0 {
			t.Fatalf("ParseRetention(%q) = %v", s, d)
		}
	})
}
