package lab_test

import (
	"bytes"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/google/shlex"

	"github.com/npte/npte/lab"
	"github.com/npte/npte/shape"
)

// TestProfilesAreTyped: every profile direction is a canonical Spec (its
// Validate changes nothing), names a public source (a URL) unless the
// numbers are npte's own choice, and matches, knob for knob, the flags
// recorded for it on the user-mode Linux kernel (shape's testdata), so
// the kernel round trip of shape covers every profile as it is.
func TestProfilesAreTyped(t *testing.T) {
	recorded := map[string][]string{}
	cases, err := os.ReadFile("../shape/testdata/tcjson/uml-cases.txt")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(cases), "\n") {
		name, flags, ok := strings.Cut(line, "|")
		if ok && strings.HasPrefix(name, "profile-") {
			if recorded[name], err = shlex.Split(flags); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, p := range lab.Profiles() {
		if p.URL == "" && !strings.HasPrefix(p.Source, "npte's own choice") {
			t.Errorf("%s: source %q has no public URL", p.Name, p.Source)
		}
		if strings.Contains(p.Source, "reference npte") {
			t.Errorf("%s: source %q is not one a reader can see", p.Name, p.Source)
		}
		for dir, s := range map[string]shape.Spec{"down": p.Down, "up": p.Up} {
			v := s
			if err := v.Validate(); err != nil {
				t.Errorf("%s %s: %v", p.Name, dir, err)
				continue
			}
			if !reflect.DeepEqual(v, s) {
				t.Errorf("%s %s: not canonical: %+v, validated %+v", p.Name, dir, s, v)
			}
			flags, ok := recorded["profile-"+p.Name+"-"+dir]
			if !ok {
				t.Errorf("%s %s: no recorded kernel case profile-%s-%s", p.Name, dir, p.Name, dir)
				continue
			}
			if rec, err := shape.ParseArgs(flags); err != nil || !reflect.DeepEqual(rec, v) {
				t.Errorf("%s %s: recorded %q (%v), profile %q", p.Name, dir, flags, err, v.Args())
			}
		}
	}
}

// TestProfileTable: --list prints each profile's flags as Args renders
// them, and each source URL once, as a numbered note.
func TestProfileTable(t *testing.T) {
	var b bytes.Buffer
	if err := lab.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, p := range lab.Profiles() {
		row := p.Name + "  "
		if !strings.Contains(out, row) || !strings.Contains(out, strings.Join(p.Down.Args(), " ")) || !strings.Contains(out, p.Source) {
			t.Errorf("table lacks profile %s:\n%s", p.Name, out)
		}
		if p.URL != "" && strings.Count(out, p.URL) != 1 {
			t.Errorf("URL %s not printed once:\n%s", p.URL, out)
		}
	}
	if !strings.Contains(out, `"3G" [1]`) || !strings.Contains(out, "\n[1] https://") {
		t.Errorf("no numbered source notes:\n%s", out)
	}
}
