package securitytest

// Regression tests for issue 10 items 4, 5 and 7: the gateway touches only
// host state it owns. Every test runs in its own sandbox, where the
// sandbox's network namespace plays the host; no packet is sent.

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/npte/npte/internal/sandbox"
)

// gwHost gives the sandbox's "host" an uplink (a veth pair uplink /
// uplinkpeer, both on the host, 198.51.100.1/24) and a default route, and
// makes the namespace router (managed by npte). It skips without nft.
func gwHost(t *testing.T) {
	t.Helper()
	mustBeSandboxed(t)
	if _, err := exec.LookPath("nft"); err != nil {
		t.Skip("gateway test skipped: nft is not installed (.ci/run installs it)")
	}
	for _, args := range [][]string{
		{"link", "add", "name", "uplink", "type", "veth", "peer", "name", "uplinkpeer"},
		{"addr", "add", "198.51.100.1/24", "dev", "uplink"},
		{"link", "set", "dev", "uplink", "up"},
		{"link", "set", "dev", "uplinkpeer", "up"},
		{"route", "add", "default", "via", "198.51.100.254", "dev", "uplink"},
	} {
		sandbox.Run(t, "ip", args...)
	}
	mustRun(t, 0, "netns", "create", "router")
}

// gwRun runs npte ARGS live, or, with script, renders it with --dry-run
// (put right after the verb) and pipes the script into sh.
func gwRun(t *testing.T, script bool, args ...string) result {
	t.Helper()
	if script {
		args = append(append(append([]string{}, args[:2]...), "--dry-run"), args[2:]...)
	}
	return run(bg(t), t, proc{Args: args, Script: script})
}

// npteHostState is what the host holds of npte's gateways: npte's nft tables,
// iptables rules and chains (both families), links of the host and the
// gateway records.
func npteHostState(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	// iptables-nft's own tables (ip nat, ip filter) are not npte's.
	for _, l := range strings.Split(sandbox.Run(t, "nft", "list", "tables"), "\n") {
		if strings.Contains(l, "npte") {
			b.WriteString(l + "\n")
		}
	}
	for _, tool := range []string{"iptables-save", "ip6tables-save"} {
		if _, err := exec.LookPath(tool); err != nil {
			continue
		}
		out, _ := exec.Command(tool).Output()
		for _, l := range strings.Split(string(out), "\n") {
			if strings.Contains(strings.ToLower(l), "npte") {
				b.WriteString(tool + ": " + l + "\n")
			}
		}
	}
	b.WriteString("links: " + strings.Join(links(t, ""), " ") + "\n")
	b.WriteString("records: " + strings.Join(listDir("/run/npte/gateway"), " ") + "\n")
	return b.String()
}

func hasLink(t *testing.T, name string) bool {
	t.Helper()
	for _, l := range links(t, "") {
		if l == name {
			return true
		}
	}
	return false
}

// TestGatewaySubnetMustBePrivate (item 4): public, huge and overlapping
// subnets are refused, exit 2 with one npte: line, before anything
// changes, live and as a script; a subnet that overlaps only the default
// route is accepted.
func TestGatewaySubnetMustBePrivate(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	gwHost(t)
	// Routes of the host the subnets below overlap.
	sandbox.Run(t, "ip", "route", "add", "172.16.0.0/12", "via", "198.51.100.2", "dev", "uplink")
	sandbox.Run(t, "ip", "route", "add", "10.99.1.0/24", "via", "198.51.100.2", "dev", "uplink", "table", "7")
	sandbox.Run(t, "ip", "link", "add", "name", "lan", "type", "veth", "peer", "name", "lanpeer")
	sandbox.Run(t, "ip", "addr", "add", "192.168.50.7/24", "dev", "lan") // lan is down: no route, an address
	sandbox.Run(t, "ip", "-6", "addr", "add", "fd00:50::7/64", "dev", "lan", "nodad")
	before := npteHostState(t)
	for _, tc := range []struct{ args []string }{
		{[]string{"gateway", "create", "router", "8.8.8.0/24", "uplink"}},
		{[]string{"gateway", "create", "router", "0.0.0.0/0", "uplink"}},
		{[]string{"gateway", "create", "router", "0.0.0.0/2", "uplink"}},
		{[]string{"gateway", "create", "router", "10.0.0.0/8", "uplink"}},
		{[]string{"gateway", "create", "router", "198.51.100.0/24", "uplink"}},
		{[]string{"gateway", "create", "--subnet6", "2001:db8::/64", "router", "10.77.0.0/24", "uplink"}},
		{[]string{"gateway", "create", "--subnet6", "fd00::/32", "router", "10.77.0.0/24", "uplink"}},
		// Overlaps: a route that covers the subnet, one inside it (in
		// another table), an address on a link that is down.
		{[]string{"gateway", "create", "router", "172.16.1.0/24", "uplink"}},
		{[]string{"gateway", "create", "router", "10.99.0.0/16", "uplink"}},
		{[]string{"gateway", "create", "router", "192.168.50.0/28", "uplink"}},
		{[]string{"gateway", "create", "--subnet6", "fd00:50::/64", "router", "10.77.0.0/24", "uplink"}},
	} {
		for _, script := range []bool{false, true} {
			r := gwRun(t, script, tc.args...)
			lines := strings.Split(strings.TrimSpace(r.Stderr), "\n")
			if r.Code != 2 || len(lines) != 1 || !strings.HasPrefix(lines[0], "npte: ") {
				t.Errorf("script=%v: want exit 2 and one npte: line, got:\n%s", script, r)
			}
			if after := npteHostState(t); after != before {
				t.Fatalf("script=%v: npte %q changed the host:\n--- before\n%s--- after\n%s", script, tc.args, before, after)
			}
		}
	}
	// Only the default route covers 10.77.0.0/24: accepted, live and as a script.
	for _, script := range []bool{false, true} {
		if r := gwRun(t, script, "gateway", "create", "router", "10.77.0.0/24", "uplink"); r.Code != 0 {
			t.Fatalf("script=%v: a private subnet that overlaps only the default route was refused:\n%s", script, r)
		}
		if r := gwRun(t, script, "gateway", "destroy", "router"); r.Code != 0 {
			t.Fatalf("script=%v: destroy:\n%s", script, r)
		}
		if after := npteHostState(t); after != before {
			t.Errorf("script=%v: create then destroy left:\n--- before\n%s--- after\n%s", script, before, after)
		}
	}
}

// TestGatewayDestroyLeavesForeignLink (item 4): `gateway destroy wan`
// never deletes a host interface if-wan that npte did not make: without a
// record, nor with a record when the link is not in npte's link group.
func TestGatewayDestroyLeavesForeignLink(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	gwHost(t)
	// The setup used a dummy link; this kernel may lack the dummy
	// module, and a veth is as foreign.
	sandbox.Run(t, "ip", "link", "add", "name", "if-wan", "type", "veth", "peer", "name", "wanpeer")
	for _, script := range []bool{false, true} {
		if r := gwRun(t, script, "gateway", "destroy", "wan"); r.Code != 0 {
			t.Fatalf("script=%v: destroy wan:\n%s", script, r)
		}
		if !hasLink(t, "if-wan") {
			t.Fatalf("script=%v: gateway destroy wan deleted the host's if-wan, which npte never made", script)
		}
	}
	// A record (a gateway create of wan that was interrupted, or forged)
	// is not enough: the link must carry npte's group too.
	mustRun(t, 0, "netns", "create", "wan")
	if err := os.MkdirAll("/run/npte/gateway", 0o755); err != nil {
		t.Fatal(err)
	}
	for _, script := range []bool{false, true} {
		if err := os.WriteFile("/run/npte/gateway/wan.nft", nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if r := gwRun(t, script, "gateway", "destroy", "wan"); r.Code != 0 {
			t.Fatalf("script=%v: destroy wan:\n%s", script, r)
		}
		if !hasLink(t, "if-wan") {
			t.Fatalf("script=%v: gateway destroy wan deleted if-wan, which is not in npte's link group", script)
		}
		if exists("/run/npte/gateway/wan.nft") {
			t.Errorf("script=%v: the record is left", script)
		}
	}
	// netns destroy of wan leaves it too.
	mustRun(t, 0, "netns", "destroy", "wan")
	if !hasLink(t, "if-wan") {
		t.Fatal("netns destroy wan deleted the host's if-wan")
	}
}

// TestGatewayDestroyRecordedBackend (item 5): created with --firewall
// iptables, destroyed without the flag: no NPTE chain or jump is left, in
// either family, on the host or inside the namespace; live and script.
func TestGatewayDestroyRecordedBackend(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	if _, err := exec.LookPath("iptables"); err != nil {
		t.Skip("skipped: iptables is not installed (.ci/run installs it)")
	}
	if out, err := exec.Command("iptables", "-t", "nat", "-n", "-L", "POSTROUTING").CombinedOutput(); err != nil {
		t.Skipf("skipped: iptables does not work here: %v\n%s", err, out)
	}
	gwHost(t)
	before := npteHostState(t)
	for _, script := range []bool{false, true} {
		if r := gwRun(t, script, "gateway", "create", "--firewall", "iptables", "--subnet6", "fd00:77::/64", "router", "10.77.0.0/24", "uplink"); r.Code != 0 {
			t.Fatalf("script=%v: create:\n%s", script, r)
		}
		if !exists("/run/npte/gateway/router.iptables") {
			t.Errorf("script=%v: the backend is not recorded: %v", script, listDir("/run/npte/gateway"))
		}
		if save, _ := exec.Command("iptables-save").Output(); !strings.Contains(string(save), "-j NPTE-GW-ROUTER") {
			t.Fatalf("script=%v: create made no jump rule:\n%s", script, save)
		}
		if r := gwRun(t, script, "gateway", "destroy", "router"); r.Code != 0 {
			t.Fatalf("script=%v: destroy:\n%s", script, r)
		}
		if after := npteHostState(t); after != before {
			t.Errorf("script=%v: destroy without --firewall left:\n--- before\n%s--- after\n%s", script, before, after)
		}
		for _, tool := range []string{"iptables-save", "ip6tables-save"} {
			out, _ := exec.Command("ip", "netns", "exec", "router", tool).Output()
			if strings.Contains(strings.ToLower(string(out)), "npte") {
				t.Errorf("script=%v: %s inside router still shows npte's rules:\n%s", script, tool, out)
			}
		}
	}
	// With no record (an older npte's gateway), both backends go, tolerantly.
	mustRun(t, 0, "gateway", "create", "--firewall", "iptables", "router", "10.77.0.0/24", "uplink")
	if err := os.Remove("/run/npte/gateway/router.iptables"); err != nil {
		t.Fatal(err)
	}
	mustRun(t, 0, "gateway", "destroy", "router")
	for _, tool := range []string{"iptables-save", "ip6tables-save"} {
		if out, _ := exec.Command(tool).Output(); strings.Contains(strings.ToLower(string(out)), "npte") {
			t.Errorf("no record: %s still shows npte's rules:\n%s", tool, out)
		}
	}
	// The unrecorded link stays (npte deletes no interface it has no
	// record of); remove it by hand, as the note says.
	if !hasLink(t, "if-router") {
		t.Error("no record: destroy deleted if-router")
	}
}

// TestLabDestroyRemovesGateway (item 7): lab destroy and netns destroy
// remove the recorded gateway of their namespaces, so that the next
// gateway create works; create over leftovers refuses (exit 2) and names
// the command to run.
func TestLabDestroyRemovesGateway(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	gwHost(t)
	mustRun(t, 0, "netns", "destroy", "router")
	before := npteHostState(t)
	for _, script := range []bool{false, true} {
		mustRun(t, 0, "lab", "create")
		mustRun(t, 0, "gateway", "create", "router", "172.16.1.0/24", "uplink")
		if r := gwRun(t, script, "lab", "destroy"); r.Code != 0 {
			t.Fatalf("script=%v: lab destroy:\n%s", script, r)
		}
		if after := npteHostState(t); after != before {
			t.Errorf("script=%v: lab destroy left the gateway:\n--- before\n%s--- after\n%s", script, before, after)
		}
	}
	for _, script := range []bool{false, true} {
		mustRun(t, 0, "netns", "create", "router")
		mustRun(t, 0, "gateway", "create", "--firewall", "iptables", "router", "172.16.1.0/24", "uplink")
		if r := gwRun(t, script, "netns", "destroy", "router"); r.Code != 0 {
			t.Fatalf("script=%v: netns destroy:\n%s", script, r)
		}
		if after := npteHostState(t); after != before {
			t.Errorf("script=%v: netns destroy left the gateway:\n--- before\n%s--- after\n%s", script, before, after)
		}
	}
	// Leftovers npte has no record of: a table, a host link.
	mustRun(t, 0, "netns", "create", "router")
	nft := exec.Command("nft", "-f", "-")
	nft.Stdin = strings.NewReader("table inet npte-gw-router {\n}\n")
	if out, err := nft.CombinedOutput(); err != nil {
		t.Fatalf("nft: %v\n%s", err, out)
	}
	for _, script := range []bool{false, true} {
		r := gwRun(t, script, "gateway", "create", "router", "172.16.1.0/24", "uplink")
		if r.Code != 2 || !strings.Contains(r.Stderr, "npte gateway destroy router") || strings.Contains(r.Stderr, "File exists") {
			t.Errorf("script=%v: create over a leftover table: want exit 2 naming npte gateway destroy router, got:\n%s", script, r)
		}
	}
	mustRun(t, 0, "gateway", "destroy", "router")
	sandbox.Run(t, "ip", "link", "add", "name", "if-router", "type", "veth", "peer", "name", "rpeer")
	for _, script := range []bool{false, true} {
		r := gwRun(t, script, "gateway", "create", "router", "172.16.1.0/24", "uplink")
		if r.Code != 2 || !strings.Contains(r.Stderr, "npte gateway destroy router") {
			t.Errorf("script=%v: create over a leftover host link: want exit 2 naming npte gateway destroy router, got:\n%s", script, r)
		}
	}
	sandbox.Run(t, "ip", "link", "del", "dev", "if-router")
	mustRun(t, 0, "gateway", "create", "router", "172.16.1.0/24", "uplink")
	mustRun(t, 0, "gateway", "destroy", "router")
	mustRun(t, 0, "netns", "destroy", "router")
	if after := npteHostState(t); after != before {
		t.Errorf("at the end:\n--- before\n%s--- after\n%s", before, after)
	}
}
