package cli_test

// Live tests of npte gateway, each in its own private sandbox: the
// sandbox's network namespace plays the host, a namespace "inet" plays the
// internet (a veth "uplink" from the host, 198.51.100.0/24, TEST-NET-2),
// and a socat listener there answers every connection with the address it
// sees the peer at. Traffic flows only between namespaces the test made.

import (
	"bytes"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/npte/npte/cli"
	"github.com/npte/npte/internal/sandbox"
)

// gwNpte runs npte ARGS in-process as root in the real (sandboxed) layout
// and returns stdout, stderr and the exit code.
func gwNpte(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	env := cli.DefaultEnv("live-test")
	var stdout, stderr bytes.Buffer
	env.Args, env.Stdout, env.Stderr, env.Color = args, &stdout, &stderr, false
	code := cli.Main(env)
	return stdout.String(), stderr.String(), code
}

func gwMust(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := gwNpte(t, args...)
	if code != 0 {
		t.Fatalf("npte %s: exit %d\n%s", strings.Join(args, " "), code, errOut)
	}
	return out
}

// gwSh runs a rendered script with sh, as `npte ... --dry-run | sudo sh` would.
func gwSh(t *testing.T, script string) {
	t.Helper()
	cmd := exec.Command("sh")
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sh: %v\n%s\n--- script\n%s", err, out, script)
	}
}

// gwWorld builds the host's uplink, the internet namespace with its
// listener, and the namespace "router" (managed by npte) with "client"
// behind it (a plain namespace, 10.66.0.0/24, default route via router).
func gwWorld(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"socat", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("live gateway test skipped: %s is not installed (.ci/run installs it)", tool)
		}
	}
	run := func(args ...string) { sandbox.Run(t, args[0], args[1:]...) }
	run("ip", "netns", "add", "inet")
	run("ip", "link", "add", "name", "uplink", "type", "veth", "peer", "name", "wan0", "netns", "inet")
	run("ip", "addr", "add", "198.51.100.1/24", "dev", "uplink")
	run("ip", "link", "set", "dev", "uplink", "up")
	run("ip", "-n", "inet", "addr", "add", "198.51.100.2/24", "dev", "wan0")
	run("ip", "-n", "inet", "link", "set", "dev", "wan0", "up")
	run("ip", "-n", "inet", "link", "set", "dev", "lo", "up")
	listener := exec.Command("ip", "netns", "exec", "inet", "socat", "TCP-LISTEN:7000,reuseaddr,fork", "SYSTEM:echo $SOCAT_PEERADDR")
	if err := listener.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = listener.Process.Kill(); _, _ = listener.Process.Wait() })

	gwMust(t, "netns", "create", "router")
	run("ip", "netns", "add", "client")
	run("ip", "-n", "client", "link", "set", "dev", "lo", "up")
	run("ip", "link", "add", "name", "if-client", "netns", "router", "type", "veth", "peer", "name", "if-router", "netns", "client")
	run("ip", "-n", "router", "addr", "add", "10.66.0.1/24", "dev", "if-client")
	run("ip", "-n", "router", "link", "set", "dev", "if-client", "up")
	run("ip", "-n", "client", "addr", "add", "10.66.0.2/24", "dev", "if-router")
	run("ip", "-n", "client", "link", "set", "dev", "if-router", "up")
	run("ip", "-n", "client", "route", "add", "default", "via", "10.66.0.1")

	// Somebody else's firewall: a forward chain with a counter.
	nft := exec.Command("nft", "-f", "-")
	nft.Stdin = strings.NewReader("table ip other {\n\tchain passthru {\n\t\ttype filter hook forward priority 10; policy accept;\n\t\tcounter\n\t}\n}\n")
	if out, err := nft.CombinedOutput(); err != nil {
		t.Fatalf("nft: %v\n%s", err, out)
	}
}

// gwPeer connects from namespace ns to the internet listener and returns
// the address the listener saw, or "" when the connection failed.
func gwPeer(t *testing.T, ns string) string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", ns, "socat", "-T", "2", "-", "TCP:198.51.100.2:7000,connect-timeout=2").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

var counterRe = regexp.MustCompile(`counter packets (\d+) bytes (\d+)`)

func otherCounter(t *testing.T) string {
	t.Helper()
	m := counterRe.FindString(sandbox.Run(t, "nft", "list", "table", "ip", "other"))
	if m == "" {
		t.Fatal("the other table's rule is gone")
	}
	return m
}

// gwNothingLeft checks that nothing of npte's gateway remains.
func gwNothingLeft(t *testing.T) {
	t.Helper()
	for _, where := range [][]string{{"nft", "list", "ruleset"}, {"ip", "netns", "exec", "router", "nft", "list", "ruleset"}} {
		if out := sandbox.Run(t, where[0], where[1:]...); strings.Contains(strings.ToLower(out), "npte") {
			t.Errorf("%s still shows npte's rules:\n%s", strings.Join(where, " "), out)
		}
	}
	if err := exec.Command("ip", "link", "show", "dev", "if-router").Run(); err == nil {
		t.Error("if-router is still on the host")
	}
	if err := exec.Command("ip", "-n", "router", "link", "show", "dev", "if-host").Run(); err == nil {
		t.Error("if-host is still in router")
	}
	if out := sandbox.Run(t, "ip", "-n", "router", "route", "show", "default"); strings.TrimSpace(out) != "" {
		t.Errorf("router keeps a default route: %s", out)
	}
}

func TestGatewayLiveNft(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	gwWorld(t)
	if p := gwPeer(t, "router"); p != "" {
		t.Fatalf("router reaches the internet before any gateway (seen as %s)", p)
	}
	// Refusals before anything changes.
	if _, _, code := gwNpte(t, "gateway", "create", "nosuch", "10.77.0.0/24", "uplink"); code != 2 {
		t.Errorf("gateway on a missing namespace: exit %d, want 2", code)
	}
	if _, _, code := gwNpte(t, "gateway", "create", "router", "10.77.0.0/24", "nosuch0"); code != 2 {
		t.Errorf("gateway out of a missing interface: exit %d, want 2", code)
	}
	if out := sandbox.Run(t, "nft", "list", "ruleset"); strings.Contains(out, "npte") {
		t.Fatalf("a refused create changed the firewall:\n%s", out)
	}

	_, stderr, code := gwNpte(t, "gateway", "create", "router", "10.77.0.0/24", "uplink")
	if code != 0 {
		t.Fatalf("gateway create: exit %d\n%s", code, stderr)
	}
	if p := gwPeer(t, "router"); p != "198.51.100.1" {
		t.Fatalf("router through the gateway: the listener saw %q, want the host's 198.51.100.1 (NAT)", p)
	}
	if p := gwPeer(t, "client"); p != "198.51.100.1" {
		t.Errorf("client behind router: the listener saw %q, want 198.51.100.1", p)
	}
	// A second create is refused, and changes nothing.
	if _, _, code := gwNpte(t, "gateway", "create", "router", "10.77.0.0/24", "uplink"); code != 2 {
		t.Errorf("second create: exit %d, want 2", code)
	}
	before := otherCounter(t)
	if before == "counter packets 0 bytes 0" {
		t.Fatal("the other table's counter saw no traffic")
	}

	// Destroy through the rendered script, as `--dry-run | sudo sh` does.
	gwSh(t, gwMust(t, "gateway", "destroy", "--dry-run", "router"))
	gwNothingLeft(t)
	if after := otherCounter(t); after != before {
		t.Errorf("the other table's counter changed: %s, then %s", before, after)
	}
	if p := gwPeer(t, "router"); p != "" {
		t.Errorf("router still reaches the internet after destroy (seen as %s)", p)
	}
	// Idempotent: again, live, and after the namespace is gone.
	gwMust(t, "gateway", "destroy", "router")
	gwMust(t, "gateway", "create", "router", "10.77.0.0/24", "uplink")
	gwMust(t, "netns", "destroy", "router")
	gwMust(t, "gateway", "destroy", "router")
	if out := sandbox.Run(t, "nft", "list", "ruleset"); strings.Contains(out, "npte") {
		t.Errorf("destroy after netns destroy left rules:\n%s", out)
	}
	if after := otherCounter(t); after != before {
		t.Errorf("the other table's counter changed: %s, then %s", before, after)
	}
}

func TestGatewayLiveIptables(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	if _, err := exec.LookPath("iptables"); err != nil {
		t.Skip("live gateway test skipped: iptables is not installed (.ci/run installs it)")
	}
	if out, err := exec.Command("iptables", "-t", "nat", "-n", "-L", "POSTROUTING").CombinedOutput(); err != nil {
		t.Skipf("live gateway test skipped: iptables does not work here: %v\n%s", err, out)
	}
	gwWorld(t)
	// Create through the rendered script, with IPv6 too.
	gwSh(t, gwMust(t, "gateway", "create", "--dry-run", "--firewall", "iptables", "--subnet6", "fd00:77::/64", "router", "10.77.0.0/24", "uplink"))
	if p := gwPeer(t, "router"); p != "198.51.100.1" {
		t.Fatalf("router through the iptables gateway: the listener saw %q, want 198.51.100.1", p)
	}
	if p := gwPeer(t, "client"); p != "198.51.100.1" {
		t.Errorf("client behind router: the listener saw %q, want 198.51.100.1", p)
	}
	save := sandbox.Run(t, "iptables-save")
	if !strings.Contains(save, `-A FORWARD -m comment --comment "npte:gw:router" -j NPTE-GW-ROUTER`) {
		t.Errorf("no tagged jump rule in FORWARD:\n%s", save)
	}
	before := otherCounter(t)
	gwMust(t, "gateway", "destroy", "--firewall", "iptables", "router")
	for _, tool := range []string{"iptables-save", "ip6tables-save"} {
		if out := sandbox.Run(t, tool); strings.Contains(strings.ToLower(out), "npte") {
			t.Errorf("%s still shows npte's rules:\n%s", tool, out)
		}
	}
	gwNothingLeft(t)
	if after := otherCounter(t); after != before {
		t.Errorf("the other table's counter changed: %s, then %s", before, after)
	}
	gwMust(t, "gateway", "destroy", "--firewall", "iptables", "router")
}

// TestDoctorLive runs doctor for real and checks that what it says about
// netem matches what tc says in a namespace of the sandbox.
func TestDoctorLive(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	out, _, code := gwNpte(t, "doctor")
	if code != 0 {
		t.Errorf("doctor: exit %d\n%s", code, out)
	}
	sandbox.Run(t, "ip", "netns", "add", "probe")
	err := exec.Command("ip", "netns", "exec", "probe", "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms").Run()
	hasNetem := err == nil
	saysMissing := regexp.MustCompile(`(?m)^  missing  netem `).MatchString(out)
	saysOK := regexp.MustCompile(`(?m)^  ok       netem$`).MatchString(out)
	if hasNetem && !saysOK || !hasNetem && !saysMissing {
		t.Errorf("tc says netem works: %v; doctor says:\n%s", hasNetem, out)
	}
	t.Logf("this kernel has netem: %v; doctor agrees", hasNetem)
}
