package ombud

import (
	"strings"
	"testing"
	"time"
)

func TestParseSubjects(t *testing.T) {
	got, err := ParseSubjects(" plate:B-XY-123 , person:42")
	if err != nil || len(got) != 2 || got[0] != "plate:B-XY-123" || got[1] != "person:42" {
		t.Fatalf("ParseSubjects = %q, %v", got, err)
	}
	for _, bad := range []string{"a,,b", "a\x00", strings.Repeat("x", 257), strings.Repeat("a,", 65) + "a"} {
		if _, err := ParseSubjects(bad); err == nil {
			t.Errorf("ParseSubjects(%.30q) accepted", bad)
		}
	}
}

func FuzzParseSubjects(f *testing.F) {
	f.Add("plate:B-XY-123,person:42")
	f.Add(" , ")
	f.Fuzz(func(t *testing.T, h string) {
		ss, err := ParseSubjects(h)
		if err != nil {
			return
		}
		for _, s := range ss {
			if err := ValidateIdentifier("subject", s); err != nil || strings.Contains(s, ",") {
				t.Fatalf("accepted subject %q: %v", s, err)
			}
		}
	})
}

func TestRetainUntilAndExpiry(t *testing.T) {
	c := Class{Name: "general", Sensitivity: Ordinary, Retention: 24 * time.Hour, Export: ExportAllow}
	at := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	o := &Object{RetainUntil: RetainUntil(c, at)}
	if !o.RetainUntil.Equal(at.Add(24 * time.Hour)) {
		t.Fatalf("RetainUntil = %v", o.RetainUntil)
	}
	if o.Expired(at.Add(23 * time.Hour)) {
		t.Fatal("expired early")
	}
	if !o.Expired(at.Add(24 * time.Hour)) {
		t.Fatal("not expired at the deadline")
	}
	o.Hold = &Hold{Reason: "litigation"}
	if o.Expired(at.Add(48 * time.Hour)) {
		t.Fatal("a held object expired")
	}
	for _, d := range DefaultClasses() {
		if err := d.Validate(); err != nil {
			t.Errorf("default class %s: %v", d.Name, err)
		}
	}
}
