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
// JSON; that `lab plan` and `lab apply` of the unchanged file restore the
// drifted addresses and shaping; and that `lab destroy` leaves a clean
// guest (issue 13).
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

	// lab plan and lab apply (as root) read the kernel first: the plan of
	// the unchanged file restores each drifted address and egress shaping
	// (terraform's refresh before plan), and says so object by object.
	// Ingress shaping has no object in a lab: it stays flagged until
	// netem clear.
	plan := npte(t, "lab", "plan", file)
	t.Logf("lab plan of the unchanged file:\n%s", plan)
	wantPlan := []string{
		`^- shape c if-r \(kernel \[netem [0-9a-f]+: \(foreign\)\]\)$`,
		`^- address r if-c 172.16.2.11/24$`,
		`^\+ address r if-c 172.16.2.1/24$`,
		`^~ shape a if-r: kernel \[--delay 50ms 5ms 25% --loss 1% --child fq_codel\] -> delay 20ms 5ms 25%, loss random 1%, child fq_codel$`,
		`^~ shape r if-a: kernel \[--delay 25ms --rate 3mbit\] -> profile dsl$`,
		`^\+ shape b if-r \(rate 20mbit\)$`,
		`^lab drift: 2 to add, 2 to change, 2 to remove$`,
	}
	lines := strings.Split(strings.TrimSpace(plan), "\n")
	if len(lines) != len(wantPlan) {
		t.Errorf("lab plan of the drifted lab: %d lines, want %d:\n%s", len(lines), len(wantPlan), plan)
	}
	for i, re := range wantPlan {
		if i >= len(lines) || !regexp.MustCompile(re).MatchString(lines[i]) {
			t.Errorf("lab plan line %d does not match %s:\n%s", i+1, re, plan)
		}
	}
	script := dryRun(t, "lab", "apply", file)
	for _, w := range []string{"addr del 172.16.2.11/24 dev if-c", "tc -n c qdisc del dev if-r root", "tc -n b qdisc add dev if-r root handle 1: tbf rate 20mbit"} {
		if !strings.Contains(script, w) {
			t.Errorf("lab apply --dry-run of the drifted lab lacks %q:\n%s", w, script)
		}
	}
	out := npte(t, "lab", "apply", file)
	t.Logf("lab apply of the unchanged file:\n%s", out)
	drift, text, _ = showLab(t, "drift")
	if len(drift) != 1 || !regexp.MustCompile(wantDrift[4]).MatchString(drift[0]) {
		t.Errorf("lab show after lab apply of the drifted lab: want only the ingress shaping:\n%s", text)
	}
	npte(t, "netem", "clear", "--direction", "ingress", "r", "if-b")
	drift, text, _ = showLab(t, "drift")
	if len(drift) != 0 || !strings.Contains(text, "the kernel matches the record") {
		t.Errorf("lab show after apply and netem clear --direction ingress:\n%s", text)
	}
	t.Logf("lab show after lab apply of the unchanged file and netem clear of the ingress:\n%s", text)
	if plan := npte(t, "lab", "plan", file); !strings.Contains(plan, "no changes; the record already matches the file") {
		t.Errorf("lab plan after the repair:\n%s", plan)
	}
	// c reaches a through r again (c's route is via r's restored address).
	must(t, "ip", "netns", "exec", "c", "ping", "-n", "-c", "2", "-i", "0.2", "-W", "3", "172.16.0.1")

	// 3. lab destroy leaves a clean guest, whatever was added by hand
	// (a foreign root qdisc, an ifb device, an address).
	must(t, "tc", "-n", "c", "qdisc", "add", "dev", "if-r", "root", "netem", "delay", "7ms")
	npte(t, "netem", "apply", "--direction", "ingress", "--rate", "10mbit", "r", "if-b")
	must(t, "ip", "-n", "a", "addr", "add", "172.16.0.77/24", "dev", "if-r")
	if drift, text, _ := showLab(t, "drift"); len(drift) != 3 {
		t.Errorf("lab show before destroy: want 3 DRIFT lines:\n%s", text)
	}
	npte(t, "lab", "destroy", "drift")
	if out := must(t, "ip", "netns", "list"); strings.TrimSpace(out) != "" {
		t.Errorf("namespaces left: %s", out)
	}
	if out := must(t, "ip", "-o", "link", "show"); strings.Count(out, "\n") != 1 {
		t.Errorf("links left besides lo:\n%s", out)
	}
	if ents, err := os.ReadDir("/etc/netns"); err != nil || len(ents) != 0 {
		t.Errorf("/etc/netns holds %v (%v)", ents, err)
	}
	if ents, err := os.ReadDir("/run/npte/lab"); err == nil && len(ents) != 0 {
		t.Errorf("lab records left: %v", ents)
	}
	if out := must(t, npteBin(), "lab", "list"); strings.Count(strings.TrimSpace(out), "\n") != 0 {
		t.Errorf("lab list after destroy:\n%s", out)
	}
	t.Log("lab destroy of the drifted lab: no namespace, no link but lo, /etc/netns and the lab records empty")
}
