package kerneltest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/npte/npte/internal/uml"
	"github.com/npte/npte/topology"
)

// driftLabFile is a small lab with shaping of every form on two links,
// in both directions (netem with jitter, loss and a fq_codel child; a
// profile; netem with duplication and a rate; a root tbf), and one
// unshaped link.
const driftLabFile = `name: drift
nodes:
  a: {}
  r: {}
  b: {}
  c: {}
links:
  - endpoints: [a, r]
    shape:
      a->r: {delay: 20ms 5ms 25%, loss: 1%, child: fq_codel}
      r->a: {profile: dsl}
  - endpoints: [r, b]
    shape:
      r->b: {delay: 5ms, rate: 20mbit, duplicate: 0.5%}
      b->r: {rate: 20mbit}
  - [r, c]
routes: auto
`

// labShow is what `npte lab show NAME --json` prints.
type labShow struct {
	Lab   topology.Lab `json:"lab"`
	Drift []string     `json:"drift"`
}

// showLab runs `npte lab show NAME` and `npte lab show --json NAME` and
// returns the text's DRIFT lines (without the prefix), the whole text
// and the decoded JSON.
func showLab(t *testing.T, name string) (drift []string, text string, js labShow) {
	t.Helper()
	text = npte(t, "lab", "show", name)
	for _, l := range strings.Split(text, "\n") {
		if d, ok := strings.CutPrefix(l, "DRIFT "); ok {
			drift = append(drift, d)
		}
	}
	out := npte(t, "lab", "show", "--json", name)
	if err := json.Unmarshal([]byte(out), &js); err != nil {
		t.Fatalf("lab show --json %s: %v\n%s", name, err, out)
	}
	if !slices.Equal(drift, js.Drift) && !(len(drift) == 0 && len(js.Drift) == 0) {
		t.Errorf("lab show %s: the text's DRIFT lines and the JSON's drift differ:\ntext: %q\njson: %q", name, drift, js.Drift)
	}
	return drift, text, js
}

// end returns the recorded end NODE IFACE of l.
func end(t *testing.T, l topology.Lab, node, iface string) topology.End {
	t.Helper()
	for _, lk := range l.Links {
		for _, e := range []topology.End{lk.A, lk.B} {
			if e.Node == node && e.Iface == iface {
				return e
			}
		}
	}
	t.Fatalf("lab %s has no end %s %s", l.Name, node, iface)
	return topology.End{}
}

// TestUMLLabShowDrift applies a lab file with shaping in both directions
// on a kernel that has netem, cake, tbf and fq_codel, checks that `lab
// show` reads every shaping back as recorded (no drift), changes the
// kernel behind npte's back and checks that exactly the changed objects
// are flagged, with the kernel's and the record's values, in text and
// JSON; then what `lab plan` and `lab apply` of the unchanged file do
// about the drift; and that `lab destroy` leaves a clean guest (issue 13).
func TestUMLLabShowDrift(t *testing.T) {
	if !uml.Enter(t, uml.StandardModules, 4*time.Minute, binVar+"="+npteBin()) {
		return
	}
	uml.Must(t)
	file := filepath.Join(t.TempDir(), "drift.yaml") // TMPDIR: a guest tmpfs
	if err := os.WriteFile(file, []byte(driftLabFile), 0o644); err != nil {
		t.Fatal(err)
	}
	npte(t, "lab", "apply", file)
	must(t, "ip", "netns", "exec", "a", "ping", "-n", "-c", "2", "-i", "0.2", "-W", "3", "172.16.1.2")

	// 1. Every shaping is read back as recorded.
	drift, text, js := showLab(t, "drift")
	t.Logf("lab show drift after apply:\n%s", text)
	if len(drift) != 0 || len(js.Drift) != 0 || !strings.Contains(text, "the kernel matches the record") {
		t.Fatalf("lab show right after apply flags drift:\n%s\njson drift: %q", text, js.Drift)
	}
	shaped := 0
	for _, lk := range js.Lab.Links {
		for _, e := range []topology.End{lk.A, lk.B} {
			if len(e.ShapeArgs) > 0 {
				shaped++
				t.Logf("read back as recorded: %s %s: %s", e.Node, e.Iface, strings.Join(e.ShapeArgs, " "))
			}
		}
	}
	if shaped != 4 {
		t.Errorf("the record has %d shaped ends, want 4", shaped)
	}

	// 2. Change the kernel behind npte's back: netem parameters changed
	// in place (a's if-r) and a root replaced (r's if-a), a root qdisc
	// deleted (b's if-r), a qdisc added to an unshaped end (c's if-r),
	// ingress shaping added with npte itself but outside the lab (r's
	// if-b), an address changed (r's if-c).
	must(t, "tc", "-n", "a", "qdisc", "change", "dev", "if-r", "root", "netem", "delay", "50ms", "5ms", "25%", "loss", "1%")
	must(t, "tc", "-n", "r", "qdisc", "replace", "dev", "if-a", "root", "netem", "delay", "25ms", "rate", "3mbit")
	must(t, "tc", "-n", "b", "qdisc", "del", "dev", "if-r", "root")
	must(t, "tc", "-n", "c", "qdisc", "add", "dev", "if-r", "root", "netem", "delay", "7ms")
	npte(t, "netem", "apply", "--direction", "ingress", "--rate", "10mbit", "r", "if-b")
	must(t, "ip", "-n", "r", "addr", "del", "172.16.2.1/24", "dev", "if-c")
	must(t, "ip", "-n", "r", "addr", "add", "172.16.2.11/24", "dev", "if-c")
	if e := end(t, js.Lab, "r", "if-c"); len(e.Addrs) != 1 || e.Addrs[0].String() != "172.16.2.1/24" {
		t.Fatalf("the record gives r if-c %v, the test changed 172.16.2.1/24", e.Addrs)
	}
	// Exactly these objects, each with the kernel's and the record's
	// values (the record's flags are canonical: the distribution spelled
	// out, loss "random 1%"); sorted by node, then link order.
	wantDrift := []string{
		`^node a: if-r is shaped \[--delay 50ms 5ms 25% --loss 1% --child fq_codel\], the record \[--delay 20ms 5ms 25% --distribution normal --loss random 1% --child fq_codel\]$`,
		`^node b: if-r is shaped \[\], the record \[--rate 20mbit\]$`,
		`^node c: if-r is shaped \[netem [0-9a-f]+: \(foreign\)\], the record \[\]$`,
		`^node r: if-a is shaped \[--delay 25ms --rate 3mbit\], the record \[--delay 25ms --rate 1500kbit\]$`,
		`^node r: if-b has ingress shaping \[tbf\], the record none$`,
		`^node r: if-c has addresses \[172.16.2.11/24\], the record \[172.16.2.1/24\]$`,
	}
	checkDrift := func(when string) {
		t.Helper()
		drift, text, js := showLab(t, "drift")
		t.Logf("lab show drift %s:\n%s", when, text)
		if len(drift) != len(wantDrift) || len(js.Drift) != len(wantDrift) {
			t.Errorf("lab show %s: %d DRIFT lines (JSON %d), want %d:\n%s", when, len(drift), len(js.Drift), len(wantDrift), text)
		}
		for i, re := range wantDrift {
			if i >= len(drift) || !regexp.MustCompile(re).MatchString(drift[i]) {
				t.Errorf("lab show %s: DRIFT line %d does not match %s:\n%s", when, i+1, re, text)
			}
			if i >= len(js.Drift) || !regexp.MustCompile(re).MatchString(js.Drift[i]) {
				t.Errorf("lab show --json %s: drift[%d] does not match %s: %q", when, i, re, js.Drift)
			}
		}
		if strings.Contains(text, "the kernel matches the record") {
			t.Errorf("lab show %s says the kernel matches the record:\n%s", when, text)
		}
	}
	checkDrift("after the changes")

	// lab plan and lab apply compare the file with the record, not with
	// the kernel: an unchanged file is no change, and apply runs only its
	// guards and leaves the drift (lab plan says so and points to lab
	// show). Repairing is destroy and apply (below).
	plan := npte(t, "lab", "plan", file)
	t.Logf("lab plan of the unchanged file:\n%s", plan)
	if !strings.Contains(plan, "no changes; the record already matches the file") || !strings.Contains(plan, "npte lab show drift") {
		t.Errorf("lab plan of the unchanged file:\n%s", plan)
	}
	out := npte(t, "lab", "apply", file)
	t.Logf("lab apply of the unchanged file:\n%s", out)
	checkDrift("after lab apply of the unchanged file")

	// 3. lab destroy leaves a clean guest, whatever was added by hand;
	// destroy and apply restore the recorded lab; destroy again.
	clean := func(when string) {
		t.Helper()
		if out := must(t, "ip", "netns", "list"); strings.TrimSpace(out) != "" {
			t.Errorf("%s: namespaces left: %s", when, out)
		}
		if out := must(t, "ip", "-o", "link", "show"); strings.Count(out, "\n") != 1 {
			t.Errorf("%s: links left besides lo:\n%s", when, out)
		}
		if ents, err := os.ReadDir("/etc/netns"); err != nil || len(ents) != 0 {
			t.Errorf("%s: /etc/netns holds %v (%v)", when, ents, err)
		}
		if ents, err := os.ReadDir("/run/npte/lab"); err == nil && len(ents) != 0 {
			t.Errorf("%s: lab records left: %v", when, ents)
		}
		if out := must(t, npteBin(), "lab", "list"); strings.Count(strings.TrimSpace(out), "\n") != 0 {
			t.Errorf("%s: lab list:\n%s", when, out)
		}
	}
	npte(t, "lab", "destroy", "drift")
	clean("lab destroy of the drifted lab")
	npte(t, "lab", "apply", file)
	if drift, text, _ := showLab(t, "drift"); len(drift) != 0 {
		t.Errorf("lab show after destroy and apply:\n%s", text)
	}
	must(t, "ip", "netns", "exec", "a", "ping", "-n", "-c", "2", "-i", "0.2", "-W", "3", "172.16.2.2")
	npte(t, "lab", "destroy", "drift")
	clean("lab destroy")
}
