package shape

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/alecthomas/kong"
	"github.com/google/shlex"
)

// notReadBack are the knobs the kernel does not report, with what netem
// show reads back instead. Every other knob must read back as given.
var notReadBack = map[string]string{
	"distribution": "normal", // tc -j shows no delay distribution (netem show notes it)
}

// TestEveryKnobRoundTrips is the one-list check: a knob added to Spec in
// one place and not the others fails here. For every netem apply case
// recorded on the user-mode Linux 6.1 kernel (testdata/tcjson), the
// flags go through kong (Spec embedded, as in `netem apply`) into a
// Spec, which must equal ParseArgs of the same flags and survive JSON;
// the kernel's tc -j output of its tree reads back (ReadQdiscs, as
// `netem show`) into a Spec whose every knob equals the applied one
// (notReadBack excepted); and every knob of Spec must be set by at least
// one recorded case, so a new knob needs its own recording.
func TestEveryKnobRoundTrips(t *testing.T) {
	cases, err := os.ReadFile("testdata/tcjson/uml-cases.txt")
	if err != nil {
		t.Fatal(err)
	}
	covered := map[string]int{}
	for _, line := range strings.Split(string(cases), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, flags, _ := strings.Cut(line, "|")
		args, err := shlex.Split(flags)
		if err != nil {
			t.Fatal(err)
		}
		if len(args) > 1 && args[0] == "--direction" {
			args = args[2:]
		}
		var cmd struct {
			Knobs Spec `embed:""`
		}
		p, err := kong.New(&cmd, kong.Exit(func(int) { t.Fatalf("%s: kong exited", name) }))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Parse(args); err != nil {
			t.Fatalf("%s: the flags %q do not parse: %v", name, args, err)
		}
		in := cmd.Knobs
		if err := in.Validate(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if viaArgs, err := ParseArgs(args); err != nil || !reflect.DeepEqual(viaArgs, in) {
			t.Errorf("%s: ParseArgs(%q) = %+v, %v; kong gave %+v", name, args, viaArgs, err, in)
		}
		js, _ := json.Marshal(in)
		var fromJSON Spec
		if err := json.Unmarshal(js, &fromJSON); err != nil || fromJSON.Validate() != nil || !reflect.DeepEqual(fromJSON, in) {
			t.Errorf("%s: %s reads back from JSON as %+v (%v)", name, js, fromJSON, err)
		}
		data, filters := readFixture(t, "uml-"+name)
		shapings, err := ReadQdiscs("ns", "x", data, filters)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, sh := range shapings {
			back, err := sh.Spec()
			if err != nil {
				if strings.Contains(strings.Join(sh.Args, " "), "?") {
					continue // the slot distribution: noted, not read back
				}
				t.Errorf("%s %s: %v", name, sh.Direction, err)
				continue
			}
			for _, k := range Knobs() {
				if !k.Given(in) {
					if k.Given(back) && notReadBack[k.Name] == "" {
						t.Errorf("%s %s: %s not applied, read back as %q", name, sh.Direction, k.Flag(), k.Text(back))
					}
					continue
				}
				want := k.Text(in)
				if alt, ok := notReadBack[k.Name]; ok {
					want = alt
				}
				if got := k.Text(back); got != want {
					t.Errorf("%s %s: applied %s %q, read back %q (netem show: %q)", name, sh.Direction, k.Flag(), k.Text(in), got, sh.Args)
					continue
				}
				covered[k.Name]++
			}
		}
	}
	for _, k := range Knobs() {
		if covered[k.Name] == 0 {
			t.Errorf("knob %s: no recorded kernel case sets it and reads it back (add one to testdata/tcjson/uml-cases.txt and record it on the user-mode Linux kernel)", k.Flag())
		}
	}
	t.Logf("knobs read back from the recorded kernel trees: %v", covered)
}

// TestKnobTags: each field of Spec is a knob with one name for the flag,
// the lab file (yaml) and JSON, a placeholder and help for --help, and a
// type that decodes through UnmarshalText and renders through
// MarshalText; kong builds exactly these flags from the embedded Spec.
func TestKnobTags(t *testing.T) {
	typ := reflect.TypeFor[Spec]()
	var cmd struct {
		Knobs Spec `embed:""`
	}
	p, err := kong.New(&cmd)
	if err != nil {
		t.Fatal(err)
	}
	flags := map[string]*kong.Flag{}
	for _, f := range p.Model.Flags {
		if f.Name != "help" {
			flags[f.Name] = f
		}
	}
	knobs := Knobs()
	if len(knobs) != typ.NumField() || len(flags) != len(knobs) {
		t.Fatalf("%d fields, %d knobs, %d kong flags", typ.NumField(), len(knobs), len(flags))
	}
	for i, k := range knobs {
		f := typ.Field(i)
		if k.Name == "" || k.Help == "" || k.Placeholder == "" {
			t.Errorf("field %s: name %q, help %q, placeholder %q", f.Name, k.Name, k.Help, k.Placeholder)
		}
		for _, tag := range []string{"yaml", "json"} {
			if got := f.Tag.Get(tag); got != k.Name+",omitempty" {
				t.Errorf("field %s: %s tag %q, want %q", f.Name, tag, got, k.Name+",omitempty")
			}
		}
		kf := flags[k.Name]
		if kf == nil || kf.Help != k.Help || kf.PlaceHolder != k.Placeholder {
			t.Errorf("knob %s: kong flag %+v", k.Name, kf)
		}
		if k.Modifies != "" {
			if _, ok := KnobNamed(k.Modifies); !ok {
				t.Errorf("knob %s modifies an unknown knob %q", k.Name, k.Modifies)
			}
		}
	}
	// The refusal of no knob at all lists the knobs that stand alone.
	var s Spec
	err = s.Validate()
	if err == nil || !strings.Contains(err.Error(), "--delay, --loss, --duplicate, --corrupt, --reorder, --rate, --slot, --limit, --child (") {
		t.Errorf("empty Spec: %v", err)
	}
}

// TestValidateHoldsGoValues: a Spec built in Go is held to the grammar of
// each knob, and Validate makes it canonical and is idempotent.
func TestValidateHoldsGoValues(t *testing.T) {
	bad := Spec{Delay: &Delay{Delay: 0.0000081, Words: []string{"8.1us"}}}
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), `invalid --delay value "8.1us"`) {
		t.Errorf("8.1us: %v", err)
	}
	s := Spec{Delay: &Delay{Words: []string{"10ms", "2ms"}, Distribution: "pareto"}, Rate: NewRate(10 * Mbit)}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if s.Distribution != "pareto" || s.Delay.Distribution != "" || s.Delay.Jitter != 0.002 {
		t.Errorf("not canonical: %+v %+v", s, *s.Delay)
	}
	again := s
	if err := again.Validate(); err != nil || !reflect.DeepEqual(again, s) {
		t.Errorf("Validate is not idempotent: %+v, %v", again, err)
	}
	if got := strings.Join(s.Args(), " "); got != "--delay 10ms 2ms --distribution pareto --rate 10mbit" {
		t.Errorf("Args %q", got)
	}
}
