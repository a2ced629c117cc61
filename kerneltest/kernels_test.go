package kerneltest

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/npte/npte/internal/uml"
)

// refused checks that npte ARGS exits 2 with exactly one line on stderr,
// "npte: " + msg (live), and that the dry-run script does the same.
func refused(t *testing.T, msg string, args ...string) {
	t.Helper()
	ok := true
	_, stderr, code := npteCode(t, args...)
	if code != 2 || strings.TrimSpace(stderr) != "npte: "+msg {
		ok = false
		t.Errorf("npte %s: exit %d, stderr %q; want exit 2 and %q", strings.Join(args, " "), code, stderr, "npte: "+msg)
	}
	s := dryRun(t, args...)
	f, err := os.CreateTemp("", "npte-script-*.sh")
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(f.Name())
	f.WriteString(s)
	f.Close()
	out, code := run(t, "sh", f.Name())
	if code != 2 || !strings.Contains(out, "npte: "+msg) {
		ok = false
		t.Errorf("npte %s --dry-run | sh: exit %d, output %q; want exit 2 and %q", strings.Join(args, " "), code, out, msg)
	}
	if ok {
		t.Logf("refused up front, live and script alike (exit 2): npte %s: %s", strings.Join(args, " "), msg)
	}
}

// TestUMLNoIPv6 boots a kernel without the ipv6 module (the state of a
// host booted with ipv6.disable=1): every IPv4 verb and lab create work,
// IPv6 addresses, routes and --subnet6 are refused with one line, and
// doctor reports it (issue 12, item 3).
func TestUMLNoIPv6(t *testing.T) {
	if !uml.Enter(t, uml.Without("ipv6"), 3*time.Minute, binVar+"="+npteBin()) {
		return
	}
	uml.Must(t)
	if _, err := os.Stat("/proc/sys/net/ipv6"); err == nil {
		t.Fatal("this guest kernel has IPv6; the test needs one without")
	}
	// The v4 verbs, one by one, and the lab.
	npte(t, "netns", "create", "a")
	npte(t, "netns", "create", "b")
	npte(t, "netns", "connect", "a", "b")
	npte(t, "netns", "assign-addr", "a", "if-b", "10.9.0.1/24")
	npte(t, "netns", "assign-addr", "b", "if-a", "10.9.0.2/24")
	npte(t, "netns", "add-route", "a", "10.10.0.0/16", "10.9.0.2")
	must(t, "ip", "netns", "exec", "a", "ping", "-c", "2", "-i", "0.2", "10.9.0.2")
	npte(t, "netns", "show", "a")
	refused(t, "this kernel has no IPv6: see npte doctor", "netns", "assign-addr", "a", "if-b", "fd00:9::1/64")
	refused(t, "this kernel has no IPv6: see npte doctor", "netns", "add-route", "a", "default", "fd00:9::2")
	npte(t, "netns", "destroy", "a")
	npte(t, "netns", "destroy", "b")

	npte(t, "lab", "create")
	p := ping(t, 20, "0.05", 56)
	if p.Received != p.Sent {
		t.Errorf("lab without IPv6: %d of %d pings answered", p.Received, p.Sent)
	}
	npte(t, "netem", "apply", "--delay", "10ms", "router", "if-client")
	p = ping(t, 20, "0.05", 56)
	t.Logf("no IPv6: lab create works, ping through the router %d/%d, RTT %.2f ms with 10 ms delay", p.Received, p.Sent, p.Avg)
	npte(t, "lab", "netem", "--profile", "dsl")
	npte(t, "lab", "netem")
	// --subnet6 on a gateway: refused before anything is made.
	must(t, "ip", "link", "add", "name", "ext0", "type", "veth", "peer", "name", "ext1")
	refused(t, "this kernel has no IPv6: see npte doctor", "gateway", "create", "--subnet6", "fd00:1::/64", "router", "172.16.1.0/24", "ext0")
	if out, _ := run(t, "ip", "link", "show", "dev", "if-router"); !strings.Contains(out, "does not exist") {
		t.Errorf("the refused gateway left a host link: %s", out)
	}
	doc, _ := run(t, npteBin(), "doctor")
	if !strings.Contains(doc, "missing  ipv6") {
		t.Errorf("doctor does not report the missing IPv6:\n%s", doc)
	}
	for _, l := range strings.Split(doc, "\n") {
		if strings.Contains(l, "ipv6") {
			t.Logf("doctor: %s", strings.TrimSpace(l))
		}
	}
	npte(t, "lab", "destroy")
	if out := must(t, "ip", "netns", "list"); strings.TrimSpace(out) != "" {
		t.Errorf("namespaces left: %s", out)
	}
}

// TestUMLNoCake boots a kernel without sch_cake: --child cake (and the
// 4g-managed profile) is refused up front with exit 2, in the script and
// live alike, and the old tree is left in place; doctor lists every qdisc
// npte uses (issue 12, item 4).
func TestUMLNoCake(t *testing.T) {
	if !uml.Enter(t, uml.Without("sch_cake"), 3*time.Minute, binVar+"="+npteBin()) {
		return
	}
	uml.Must(t)
	npte(t, "lab", "create")
	npte(t, "netem", "apply", "--delay", "20ms", "router", "if-client")
	before := tcState(t, "router")
	refused(t, "this kernel has no cake qdisc: see npte doctor", "netem", "apply", "--delay", "10ms", "--child", "cake", "router", "if-client")
	refused(t, "this kernel has no cake qdisc: see npte doctor", "netem", "apply", "--child", "cake", "--child-rate", "10mbit", "router", "if-client")
	refused(t, "this kernel has no cake qdisc: see npte doctor", "lab", "netem", "--profile", "4g-managed")
	if after := tcState(t, "router"); after != before {
		t.Errorf("a refused apply changed the router's tc state:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	// The other kinds still work.
	npte(t, "netem", "apply", "--delay", "10ms", "--child", "fq_codel", "router", "if-client")
	npte(t, "netem", "apply", "--delay", "10ms", "--child", "tbf", "--child-rate", "10mbit", "router", "if-client")
	npte(t, "netem", "apply", "--direction", "ingress", "--rate", "10mbit", "router", "if-server")
	doc, _ := run(t, npteBin(), "doctor")
	for _, want := range []string{"ok       netem", "ok       tbf", "missing  cake", "ok       fq_codel", "ok       ingress", "ok       ifb", "ok       u32", "ok       mirred"} {
		if !strings.Contains(doc, want) {
			t.Errorf("doctor lacks %q:\n%s", want, doc)
		}
	}
	if strings.Contains(doc, "htb") {
		t.Errorf("doctor still probes htb, which npte does not use:\n%s", doc)
	}
	for _, l := range strings.Split(doc, "\n") {
		for _, k := range []string{"netem", "tbf", "cake", "fq_codel", "ingress", "ifb", "u32", "mirred"} {
			if f := strings.Fields(l); len(f) >= 2 && f[1] == k {
				t.Logf("doctor: %s", strings.TrimSpace(l))
			}
		}
	}
	npte(t, "lab", "destroy")
}
