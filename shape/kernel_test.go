package shape

import (
	"reflect"
	"strings"
	"testing"

	"github.com/npte/npte/plan"
)

func TestFqCodelChild(t *testing.T) {
	child, delay := "fq_codel", "5ms"
	for _, c := range []struct {
		o         []string
		root, kid []string
		args      []string
	}{
		{[]string{"--child", child}, []string{"fq_codel"}, nil, []string{"--child", "fq_codel"}},
		{[]string{"--delay", delay, "--child", child}, []string{"netem", "delay", "5ms"}, []string{"fq_codel"}, []string{"--delay", "5ms", "--child", "fq_codel"}},
	} {
		s, err := ParseArgs(c.o)
		if err != nil {
			t.Fatal(err)
		}
		tr := s.Tree()
		if !reflect.DeepEqual(tr.Root, c.root) || !reflect.DeepEqual(tr.Child, c.kid) || !reflect.DeepEqual(s.Args(), c.args) {
			t.Errorf("%v: root %q child %q args %q", c.args, tr.Root, tr.Child, s.Args())
		}
	}
}

// ReadQdiscs reads an fq_codel root and child back as --child fq_codel.
func TestReadFqCodel(t *testing.T) {
	for _, c := range []struct{ js, want string }{
		// The satellite downlink: npte raised the limit to 1300 for
		// --delay 300ms --rate 25mbit; it reads back as applied.
		{`[{"kind":"netem","handle":"1:","dev":"e","root":true,"options":{"limit":1300,"delay":{"delay":0.3,"jitter":0,"correlation":0},` +
			`"rate":{"rate":3125000}}}]`, "--delay 300ms --rate 25mbit"},
		// A limit npte would not raise to is the user's.
		{`[{"kind":"netem","handle":"1:","dev":"e","root":true,"options":{"limit":1200,"delay":{"delay":0.3,"jitter":0,"correlation":0},` +
			`"rate":{"rate":3125000}}}]`, "--delay 300ms --rate 25mbit --limit 1200"},
		// What the 6.1 kernel reports for --delay 10ms --reorder '25% 50%'
		// (tc adds gap 1): read back as applied.
		{`[{"kind":"netem","handle":"1:","dev":"e","root":true,"options":{"limit":1000,"delay":{"delay":0.01,"jitter":0,"correlation":0},` +
			`"reorder":{"reorder":0.25,"correlation":0.5},"gap":1}}]`, "--delay 10ms --reorder 25% 50%"},
		{`[{"kind":"netem","handle":"1:","dev":"e","root":true,"options":{"limit":1000,"delay":{"delay":0.01,"jitter":0,"correlation":0},` +
			`"reorder":{"reorder":0.25,"correlation":0},"gap":5}}]`, "--delay 10ms --reorder 25% gap 5"},
	} {
		sh, err := ReadQdiscs("ns", "e", []byte(c.js), nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(sh) == 0 || strings.Join(sh[0].Args, " ") != c.want {
			t.Errorf("%s: read %+v, want %s", c.js, sh, c.want)
		}
	}
}

func TestKernelGuard(t *testing.T) {
	cake, rate, delay := "cake", "10mbit", "20ms"
	for _, c := range []struct {
		dir  Direction
		o    []string
		want []string // features probed, in order
	}{
		{Egress, []string{"--delay", delay}, []string{"netem"}},
		{Egress, []string{"--rate", rate}, []string{"tbf"}},
		{Egress, []string{"--delay", delay, "--child", cake}, []string{"netem", "cake"}},
		{Ingress, []string{"--child", cake}, []string{"ingress", "ifb", "cake"}},
		{Both, []string{"--delay", delay, "--rate", rate}, []string{"ingress", "ifb", "netem"}},
	} {
		s, err := ParseArgs(c.o)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, st := range KernelGuard(c.dir, s) {
			p, ok := st.(plan.Probe)
			if !ok || !p.WantSuccess || !reflect.DeepEqual(p.Argv[:3], []string{"unshare", "--net", "--"}) {
				t.Fatalf("%v: not a probe in a throwaway namespace: %#v", c.want, st)
			}
			f := p.Argv[len(p.Argv)-1]
			switch {
			case p.Argv[3] == "ip":
				f = "ifb"
			case strings.Contains(strings.Join(p.Argv, " "), " tbf "):
				f = "tbf"
			}
			if !strings.Contains(p.Message, "this kernel has no "+f) || !strings.HasSuffix(p.Message, "see npte doctor") {
				t.Errorf("message %q", p.Message)
			}
			got = append(got, f)
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s %+v: probes %q, want %q", c.dir, c.o, got, c.want)
		}
	}
	// netem apply puts the guard before the first change.
	s, _ := ParseArgs([]string{"--child", cake})
	steps := Apply("ns", "e", Egress, s).Steps
	for i, st := range steps {
		if c, ok := st.(plan.Command); ok {
			if _, ok := steps[i-1].(plan.Probe); !ok || !strings.Contains(steps[i-1].(plan.Probe).Message, "cake") {
				t.Errorf("the step before the first change (%v) is not the cake guard", c.Argv)
			}
			break
		}
	}
}
