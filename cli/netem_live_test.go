package cli_test

// Live tests of the shaping verbs, each in its own private sandbox. They
// measure real throughput through shaped links with iperf3, between the
// lab's own namespaces only. This machine's kernel (and CI's) may lack
// sch_netem: nmNetem detects it, and only netem-specific assertions skip,
// with the reason; tbf, ingress (ifb, u32, mirred) are tested for real.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/npte/npte/internal/sandbox"
	"github.com/npte/npte/lab"
	"github.com/npte/npte/shape"
)

// nmNetem reports whether the kernel has sch_netem, by adding one to the
// loopback of a throwaway namespace; reason says why not.
func nmNetem(t *testing.T) (ok bool, reason string) {
	t.Helper()
	sandbox.Run(t, "ip", "netns", "add", "nmprobe")
	defer sandbox.Run(t, "ip", "netns", "del", "nmprobe")
	out, err := exec.Command("tc", "-n", "nmprobe", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms").CombinedOutput()
	if err != nil {
		return false, "this kernel has no sch_netem (tc: " + strings.TrimSpace(string(out)) + ")"
	}
	return true, ""
}

// nmIperf measures a bulk TCP transfer from namespace from to addr (a lab
// address in namespace to) for secs seconds, after one omitted second of
// slow start, and returns the received rate in bit/s.
func nmIperf(t *testing.T, from, to, addr string, secs int) float64 {
	t.Helper()
	if _, err := exec.LookPath("iperf3"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("iperf3 is not installed (.ci/run installs it)")
		}
		t.Skip("iperf3 is not installed; skipping the throughput measurement (CI runs it)")
	}
	srv := exec.Command("ip", "netns", "exec", to, "iperf3", "-s", "-1", "-B", addr)
	var srvOut bytes.Buffer
	srv.Stdout, srv.Stderr = &srvOut, &srvOut
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Process.Kill(); _ = srv.Wait() }()
	var out []byte
	var err error
	for try := 0; try < 50; try++ {
		out, err = exec.Command("ip", "netns", "exec", from, "iperf3", "-c", addr, "-t", fmt.Sprint(secs), "-O", "1", "-J").Output()
		if !strings.Contains(string(out), "Connection refused") {
			break
		}
		time.Sleep(100 * time.Millisecond) // the server is not listening yet
	}
	if err != nil {
		t.Fatalf("iperf3 %s -> %s: %v\n%s\nserver: %s", from, addr, err, out, srvOut.String())
	}
	var res struct {
		End struct {
			SumReceived struct {
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
		} `json:"end"`
	}
	if err := json.Unmarshal(out, &res); err != nil || res.End.SumReceived.BitsPerSecond == 0 {
		t.Fatalf("iperf3 output: %v\n%s", err, out)
	}
	return res.End.SumReceived.BitsPerSecond
}

// nmWithin fails t unless got is within 15% of want, and logs both.
func nmWithin(t *testing.T, what string, got, want float64) {
	t.Helper()
	dev := (got - want) / want * 100
	t.Logf("%s: measured %.2f Mbit/s for a cap of %.2f Mbit/s (%+.1f%%)", what, got/1e6, want/1e6, dev)
	if dev < -15 || dev > 15 {
		t.Errorf("%s: %.2f Mbit/s is not within 15%% of %.2f Mbit/s", what, got/1e6, want/1e6)
	}
}

// nmShow returns netem show --json for ns.
func nmShow(t *testing.T, args ...string) []shape.Shaping {
	t.Helper()
	r := lbMust(t, 0, append([]string{"netem", "show", "--json"}, args...)...)
	var out []shape.Shaping
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("netem show --json: %v\n%s", err, r.stdout)
	}
	return out
}

func nmFind(shs []shape.Shaping, iface string, dir shape.Direction) *shape.Shaping {
	for i := range shs {
		if shs[i].Iface == iface && shs[i].Direction == dir {
			return &shs[i]
		}
	}
	return nil
}

func TestLiveNetemRateCaps(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	lbMust(t, 0, "lab", "create")
	const cap20, cap10 = 20e6, 10e6
	base := nmIperf(t, "client", "server", "172.16.2.2", 2)
	t.Logf("unshaped client -> server: %.0f Mbit/s", base/1e6)
	if base < 3*cap20 {
		t.Fatalf("the unshaped link (%.1f Mbit/s) is too slow to tell a 20 Mbit/s cap", base/1e6)
	}

	// Egress: a root tbf on the router's uplink.
	r := lbMust(t, 0, "netem", "apply", "--rate", "20mbit", "router", "if-server")
	if !strings.Contains(r.stderr, "+ tc -n router qdisc add dev if-server root handle 1: tbf rate 20mbit burst 25000 latency 50ms\n") {
		t.Errorf("apply did not echo the tbf command:\n%s", r.stderr)
	}
	nmWithin(t, "egress tbf 20mbit on router/if-server", nmIperf(t, "client", "server", "172.16.2.2", 5), cap20)
	sh := nmFind(nmShow(t, "router"), "if-server", shape.Egress)
	if sh == nil || sh.Qdisc != "tbf" || strings.Join(sh.Args, " ") != "--rate 20mbit" {
		t.Errorf("netem show: %+v", sh)
	}
	text := lbMust(t, 0, "netem", "show", "router", "if-server").stdout
	t.Logf("netem show router if-server:\n%s", text)
	// Applying twice is not an error; changing one knob needs no clear.
	lbMust(t, 0, "netem", "apply", "--rate", "20mbit", "router", "if-server")
	lbMust(t, 0, "netem", "apply", "--rate", "10mbit", "router", "if-server")
	nmWithin(t, "egress tbf changed to 10mbit", nmIperf(t, "client", "server", "172.16.2.2", 5), cap10)
	lbMust(t, 0, "netem", "clear", "router", "if-server")
	lbMust(t, 0, "netem", "clear", "router", "if-server") // idempotent
	if sh := nmFind(nmShow(t, "router", "if-server"), "if-server", shape.Egress); sh == nil || sh.Shaped {
		t.Errorf("after clear: %+v", sh)
	}

	// Ingress: traffic arriving on the router's downlink, through ifb.
	lbMust(t, 0, "netem", "apply", "--direction", "ingress", "--rate", "20mbit", "router", "if-client")
	nmWithin(t, "ingress tbf 20mbit on router/if-client (ifb-if-client)", nmIperf(t, "client", "server", "172.16.2.2", 5), cap20)
	shs := nmShow(t, "router")
	if sh := nmFind(shs, "if-client", shape.Ingress); sh == nil || sh.Qdisc != "tbf" || strings.Join(sh.Args, " ") != "--rate 20mbit" {
		t.Errorf("netem show, ingress: %+v", shs)
	}
	for _, s := range shs {
		if strings.HasPrefix(s.Iface, "ifb-") {
			t.Errorf("netem show lists the ifb device itself: %+v", s)
		}
	}
	// Re-applying rebuilds the ifb device rather than failing on it.
	lbMust(t, 0, "netem", "apply", "--direction", "ingress", "--rate", "20mbit", "router", "if-client")
	lbMust(t, 0, "netem", "clear", "router", "if-client")
	if exec.Command("ip", "-n", "router", "link", "show", "dev", "ifb-if-client").Run() == nil {
		t.Error("netem clear left the ifb device")
	}
	if out := sandbox.Run(t, "tc", "-n", "router", "qdisc", "show", "dev", "if-client"); strings.Contains(out, "ingress") {
		t.Errorf("netem clear left the ingress qdisc:\n%s", out)
	}
	after := nmIperf(t, "client", "server", "172.16.2.2", 2)
	t.Logf("after clear: %.0f Mbit/s", after/1e6)
	if after < 2*cap20 {
		t.Errorf("still capped after clear: %.1f Mbit/s", after/1e6)
	}

	// Both directions at once, then a dry-run script doing the same.
	both := []string{"netem", "apply", "--direction", "both", "--rate", "20mbit", "router", "if-client"}
	lbMust(t, 0, both...)
	if n := len(nmShow(t, "router", "if-client")); n != 2 {
		t.Errorf("both directions: %d rows", n)
	}
	live := lbState(t)
	lbMust(t, 0, "netem", "clear", "router", "if-client")
	script := lbMust(t, 0, append(both, "--dry-run")...).stdout
	cmd := exec.Command("dash", "-s")
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("netem apply --dry-run | dash: %v\n%s", err, out)
	}
	if got := lbState(t); got != live {
		t.Errorf("the dry-run script and the live run differ:\n--- live\n%s\n--- script\n%s", live, got)
	}
	clearScript := lbMust(t, 0, "netem", "clear", "--dry-run", "router", "if-client").stdout
	for i := 0; i < 2; i++ { // idempotent as a script too
		cmd = exec.Command("dash", "-s")
		cmd.Stdin = strings.NewReader(clearScript)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("netem clear --dry-run | dash (run %d): %v\n%s", i+1, err, out)
		}
	}
	if sh := nmShow(t, "router", "if-client"); len(sh) != 1 || sh[0].Shaped {
		t.Errorf("after the clear script: %+v", sh)
	}

	netem, reason := nmNetem(t)
	t.Run("netem", func(t *testing.T) {
		if !netem {
			t.Skip("netem-specific assertions skipped: " + reason + "; on this host kernel only — the netem path runs, measured, on a real kernel in ./kerneltest (user-mode Linux) and in the golden and fidelity tests")
		}
		lbMust(t, 0, "netem", "apply", "--delay", "20ms", "--rate", "20mbit", "router", "if-server")
		sh := nmFind(nmShow(t, "router"), "if-server", shape.Egress)
		if sh == nil || strings.Join(sh.Args, " ") != "--delay 20ms --rate 20mbit" {
			t.Errorf("netem show: %+v", sh)
		}
		nmWithin(t, "netem rate 20mbit with 20ms delay", nmIperf(t, "client", "server", "172.16.2.2", 5), cap20)
		for _, p := range lab.ProfileNames() {
			if r := lbNpte(t, nil, "lab", "netem", "--profile", p); r.code != 0 {
				t.Errorf("lab netem --profile %s: exit %d\n%s", p, r.code, r.stderr)
			}
		}
		lbMust(t, 0, "lab", "netem")
	})

	lbMust(t, 0, "lab", "destroy")
	if left := lbLeftovers(); left != "" {
		t.Errorf("lab destroy left: %s", left)
	}
}

// Every tree npte renders is accepted by this machine's tc: tc parses a
// qdisc's options before asking the kernel, so "Specified qdisc kind is
// unknown" (no sch_netem or sch_cake here) still proves the words parse.
func TestLiveTcAcceptsTrees(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	sandbox.Run(t, "ip", "link", "add", "name", "nmx", "type", "veth", "peer", "name", "nmy")
	specs := [][]string{
		{"--delay", "25ms"},
		{"--delay", "10ms 2ms 25%"},
		{"--delay", "10ms 2ms", "--distribution", "pareto", "--rate", "10mbit"},
		{"--delay", "10ms 2ms", "--distribution", "paretonormal", "--rate", "10mbit"},
		{"--delay", "10ms 2ms", "--distribution", "uniform", "--rate", "1mbit"},
		{"--rate", "20mbit"},
		{"--rate", "500gbit"},
		{"--rate", "480bit"},
		{"--rate", "10mbit 20 53 -5"},
		{"--loss", "gemodel 1% 10% 70% 0.1%", "--duplicate", "1%", "--corrupt", "0.1% 25%"},
		{"--loss", "state 1% 2% 3% 4% 5% ecn"},
		{"--delay", "50ms", "--loss", "1% 25%"},
		{"--delay", "10ms", "--reorder", "25% 50% gap 5"},
		{"--slot", "5ms 10ms packets 64 bytes 1500"},
		{"--slot", "distribution pareto 10ms 2ms"},
		{"--delay", "100ms", "--rate", "1gbit"},
		{"--delay", "60s 2s 100%", "--rate", "1tbit", "--limit", "1000000"},
		{"--delay", "25ms", "--child", "cake", "--child-rate", "30mbit"},
		{"--delay", "25ms", "--child", "tbf", "--child-rate", "20mbit"},
		{"--child", "cake"},
	}
	for _, p := range lab.Profiles() {
		specs = append(specs, p.Down.Args(), p.Up.Args())
	}
	for _, args := range specs {
		s, err := shape.ParseArgs(args)
		if err != nil {
			t.Fatalf("%q: %v", args, err)
		}
		tr := s.Tree()
		for _, words := range [][]string{tr.Root, tr.Child} {
			if words == nil {
				continue
			}
			argv := append([]string{"qdisc", "add", "dev", "nmx", "root", "handle", "1:"}, words...)
			out, err := exec.Command("tc", argv...).CombinedOutput()
			if err != nil && !strings.Contains(string(out), "Specified qdisc kind is unknown") {
				t.Errorf("%q: tc %s: %v\n%s", args, strings.Join(argv, " "), err, out)
			}
			_ = exec.Command("tc", "qdisc", "del", "dev", "nmx", "root").Run()
		}
	}
}
