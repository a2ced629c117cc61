package mcpserver

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/npte/npte/shape"
	"github.com/npte/npte/validate"
)

// checkShape checks the invariants of every argv the builders return:
// sudo, the verb's fixed words, then only "--flag" or "--flag=VALUE"
// words, then "--", then exactly the positional values given.
func checkShape(t *testing.T, c call, verb []string, positional []string) {
	t.Helper()
	if !c.sudo {
		t.Fatalf("%q: not through sudo", c.args)
	}
	if !slices.Equal(c.args[:len(verb)], verb) {
		t.Fatalf("%q: does not start with %q", c.args, verb)
	}
	sep := slices.Index(c.args, "--")
	if sep < 0 {
		t.Fatalf("%q: no --", c.args)
	}
	for _, w := range c.args[len(verb):sep] {
		if !strings.HasPrefix(w, "--") || len(w) < 3 {
			t.Fatalf("%q: %q before -- is not one --flag[=VALUE] word", c.args, w)
		}
	}
	if got := c.args[sep+1:]; !slices.Equal(got[:len(positional)], positional) {
		t.Fatalf("%q: positional %q, want %q", c.args, got, positional)
	}
}

func FuzzNetnsRunArgs(f *testing.F) {
	f.Add("client", "ping", "-c", "K", "v")
	f.Add("client", "--", "x", "A=B", "-x")
	f.Add("-n", "id", "", "", "")
	f.Fuzz(func(t *testing.T, ns, cmd, arg, key, value string) {
		in := NetnsRunInput{Netns: ns, Argv: []string{cmd, arg}, Env: map[string]string{key: value}}
		c, err := netnsRunArgs(in)
		if err != nil {
			return
		}
		if validate.NetnsName(ns) != nil || validate.EnvVarName(key) != nil || cmd == "" || strings.HasPrefix(cmd, "-") ||
			strings.Contains(cmd, "=") || strings.ContainsRune(arg+value+cmd, 0) {
			t.Fatalf("accepted %+v: %q", in, c.args)
		}
		checkShape(t, c, []string{"netns", "run", "--sandbox"}, []string{ns, cmd, arg})
		if !slices.Contains(c.args, "--env="+key+"="+value) {
			t.Fatalf("%q: no --env=%s=%s", c.args, key, value)
		}
	})
}

func FuzzNetemApplyArgs(f *testing.F) {
	f.Add("router", "if-client", "10ms", "1%", "20mbit", "egress")
	f.Add("router", "eth0", "--help", "", "", "")
	f.Fuzz(func(t *testing.T, ns, iface, delay, loss, rate, dir string) {
		opt := func(s string) *string {
			if s == "" {
				return nil
			}
			return &s
		}
		in := NetemApplyInput{Netns: ns, Iface: iface, Delay: opt(delay), Loss: opt(loss), Rate: opt(rate), Direction: dir}
		c, err := netemApplyArgs(in)
		if err != nil {
			return
		}
		if validate.NetnsName(ns) != nil || validate.IfaceName(iface) != nil {
			t.Fatalf("accepted %+v", in)
		}
		var pairs []string
		for _, kv := range [][2]string{{"--delay", delay}, {"--loss", loss}, {"--rate", rate}} {
			if kv[1] != "" {
				pairs = append(pairs, kv[0], kv[1])
			}
		}
		if _, err := shape.ParseArgs(pairs); err != nil {
			t.Fatalf("accepted knobs shape.Parse refuses: %+v: %v", in, err)
		}
		checkShape(t, c, []string{"netem", "apply"}, []string{ns, iface})
	})
}

// TestEveryKnobOffered: netem_apply offers every knob of shape.Knobs,
// under its own name, and nothing else.
func TestEveryKnobOffered(t *testing.T) {
	vals := NetemApplyInput{}.knobs()
	for _, k := range shape.Knobs() {
		if _, ok := vals[k.Name]; !ok {
			t.Errorf("netem_apply does not offer knob %s", k.Name)
		}
	}
	if len(vals) != len(shape.Knobs()) {
		t.Errorf("netem_apply offers %d knobs, shape has %d", len(vals), len(shape.Knobs()))
	}
	typ := reflect.TypeFor[NetemApplyInput]()
	for name := range vals {
		found := false
		for i := range typ.NumField() {
			found = found || strings.TrimSuffix(typ.Field(i).Tag.Get("json"), ",omitempty") == name
		}
		if !found {
			t.Errorf("knob %s is not a JSON key of NetemApplyInput", name)
		}
	}
}

func FuzzNetnsShowArgs(f *testing.F) {
	f.Add("client", "addr")
	f.Add("client", "addr,link")
	f.Fuzz(func(t *testing.T, ns, section string) {
		c, err := netnsShowArgs(NetnsShowInput{Netns: ns, Sections: []string{section}})
		if err != nil {
			return
		}
		if validate.NetnsName(ns) != nil || !slices.Contains(showSections, section) {
			t.Fatalf("accepted %q %q", ns, section)
		}
		checkShape(t, c, []string{"netns", "show"}, []string{ns})
	})
}
