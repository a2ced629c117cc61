package kerneltest

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/npte/npte/internal/uml"
	"github.com/npte/npte/lab"
	"github.com/npte/npte/shape"
)

// delayTolerance is the allowed gap (ms) between a measured RTT and the
// unshaped baseline plus the configured delays: 3 ms plus 3 %.
func delayTolerance(configured float64) float64 { return 3 + 0.03*configured }

// TestUMLShaping is the live shaping suite (issue 12, item 2) on a kernel
// with every qdisc: one boot, one lab, every case measured, each built
// both by the dry-run script and live and compared (tc -j qdisc and
// filter state of the router).
func TestUMLShaping(t *testing.T) {
	if !uml.Enter(t, uml.StandardModules, 8*time.Minute, binVar+"="+npteBin()) {
		return
	}
	uml.Must(t)
	var sum summary
	defer sum.log(t)
	npte(t, "lab", "create")

	base := ping(t, 200, "0.01", 56)
	t.Logf("baseline RTT client->server: median %.3f ms, avg %.3f ms, mdev %.3f ms, min %.3f, max %.3f", base.Median, base.Avg, base.Mdev, base.Min, base.Max)
	t.Log("RTT checks use the median of the per-packet RTTs: UML's scheduler adds rare multi-ms outliers (see max) that move the mean of a few pings")
	sum.add("baseline RTT (unshaped)", "-", fmt.Sprintf("median %.3f avg %.3f ms", base.Median, base.Avg), "-")

	t.Run("delay", func(t *testing.T) {
		for _, c := range []struct{ down, up float64 }{{20, 0}, {20, 10}, {50, 50}} {
			clearRouter(t)
			if c.down > 0 {
				applyBoth(t, "netem", "apply", "--delay", fmt.Sprintf("%gms", c.down), "router", "if-client")
			}
			if c.up > 0 {
				npte(t, "netem", "apply", "--delay", fmt.Sprintf("%gms", c.up), "router", "if-server")
			}
			p := ping(t, 100, "0.02", 56)
			want := base.Median + c.down + c.up
			errMs := p.Median - want
			tol := delayTolerance(c.down + c.up)
			verdict := "ok"
			if math.Abs(errMs) > tol {
				verdict = "FAIL"
				t.Errorf("delay down %g ms + up %g ms: median RTT %.3f ms, want %.3f +- %.2f", c.down, c.up, p.Median, want, tol)
			}
			t.Logf("delay down %g ms + up %g ms: median RTT %.3f ms (avg %.3f) = baseline %.3f + %g, error %+.3f ms (tolerance %.2f)", c.down, c.up, p.Median, p.Avg, base.Median, c.down+c.up, errMs, tol)
			sum.add(fmt.Sprintf("delay %g+%g ms", c.down, c.up), fmt.Sprintf("RTT %.2f ms", want), fmt.Sprintf("%.3f ms (err %+.3f)", p.Median, errMs), verdict)
		}
	})

	t.Run("jitter", func(t *testing.T) {
		clearRouter(t)
		applyBoth(t, "netem", "apply", "--delay", "20ms 5ms", "--distribution", "normal", "router", "if-client")
		// One shaped direction: the RTT spread is the jitter's. The
		// spread is estimated robustly, from the interquartile range
		// (IQR = 1.349 sigma for a normal distribution), so that a rare
		// late UML timer (see the baseline's max) does not count.
		p := ping(t, 300, "0.01", 56)
		sigma := (p.P75 - p.P25) / 1.349
		t.Logf("jitter 20ms 5ms normal: RTT median %.3f ms, quartiles %.3f..%.3f: sigma %.3f ms (configured 5); ping mdev %.3f (baseline mdev %.3f), min %.3f max %.3f", p.Median, p.P25, p.P75, sigma, p.Mdev, base.Mdev, p.Min, p.Max)
		verdict := "ok"
		if sigma < 3.5 || sigma > 6.5 {
			verdict = "FAIL"
			t.Errorf("jitter 5ms: RTT sigma (from the IQR) %.3f ms, want 3.5..6.5", sigma)
		}
		sum.add("jitter 20ms 5ms normal", "sigma 5 ms", fmt.Sprintf("sigma %.2f ms (IQR/1.349)", sigma), verdict)
		// Without a rate netem reorders; with one, packets stay in order.
		for _, c := range []struct {
			args    []string
			inOrder bool
		}{
			{[]string{"--delay", "20ms 10ms"}, false},
			{[]string{"--delay", "20ms 10ms", "--rate", "50mbit"}, true},
		} {
			clearRouter(t)
			// The server sends (-R) through the router's downlink, so
			// that the client, which reports, is the receiver.
			applyBoth(t, append(append([]string{"netem", "apply"}, c.args...), "router", "if-client")...)
			end := iperf(t, "-u", "-b", "2M", "-l", "200", "-t", "3", "-R")
			ooo := findNum(end, "out_of_order")
			pk := num(end, "sum", "packets")
			t.Logf("%s: %g of %g UDP packets out of order", strings.Join(c.args, " "), ooo, pk)
			verdict := "ok"
			if math.IsNaN(ooo) || c.inOrder && ooo != 0 || !c.inOrder && ooo == 0 {
				verdict = "FAIL"
				t.Errorf("%s: %g packets out of order, want in order: %v", strings.Join(c.args, " "), ooo, c.inOrder)
			}
			sum.add("order "+strings.Join(c.args, " "), map[bool]string{true: "in order", false: "reordered"}[c.inOrder], fmt.Sprintf("%g/%g out of order", ooo, pk), verdict)
		}
	})

	t.Run("loss", func(t *testing.T) {
		for _, pct := range []float64{1, 10, 30} {
			clearRouter(t)
			applyBoth(t, "netem", "apply", "--loss", fmt.Sprintf("%g%%", pct), "router", "if-server")
			n := 2000
			p := ping(t, n, "0.002", 56)
			lo, hi := binomial99(pct/100, n)
			verdict := "ok"
			if p.LossFraction < lo || p.LossFraction > hi {
				verdict = "FAIL"
				t.Errorf("loss %g%%: measured %.4f over %d packets, outside the 99%% interval [%.4f, %.4f]", pct, p.LossFraction, n, lo, hi)
			}
			t.Logf("loss %g%%: measured %.2f%% over %d pings (99%% interval %.2f..%.2f%%)", pct, 100*p.LossFraction, n, 100*lo, 100*hi)
			sum.add(fmt.Sprintf("loss %g%%", pct), fmt.Sprintf("99%% in %.2f..%.2f%%", 100*lo, 100*hi), fmt.Sprintf("%.2f%% of %d", 100*p.LossFraction, n), verdict)
		}
		clearRouter(t)
		applyBoth(t, "netem", "apply", "--loss", "gemodel 1% 10% 70% 0.1%", "router", "if-server")
		p := ping(t, 1000, "0.002", 56)
		t.Logf("gemodel 1%% 10%% 70%% 0.1%%: accepted, measured loss %.2f%% over %d pings", 100*p.LossFraction, p.Sent)
		sum.add("loss gemodel 1% 10% 70% 0.1%", "accepted", fmt.Sprintf("%.2f%% of %d", 100*p.LossFraction, p.Sent), "ok")
	})

	t.Run("duplicate", func(t *testing.T) {
		clearRouter(t)
		applyBoth(t, "netem", "apply", "--duplicate", "10%", "router", "if-server")
		n := 2000
		p := ping(t, n, "0.002", 56)
		frac := float64(p.Dups) / float64(p.Sent)
		lo, hi := binomial99(0.10, n)
		verdict := "ok"
		if frac < lo || frac > hi {
			verdict = "FAIL"
			t.Errorf("duplicate 10%%: %d duplicates of %d, outside [%.4f, %.4f]", p.Dups, n, lo, hi)
		}
		t.Logf("duplicate 10%%: %.2f%% duplicated over %d pings (99%% interval %.2f..%.2f%%)", 100*frac, n, 100*lo, 100*hi)
		sum.add("duplicate 10%", fmt.Sprintf("99%% in %.2f..%.2f%%", 100*lo, 100*hi), fmt.Sprintf("%.2f%% of %d", 100*frac, n), verdict)
	})

	t.Run("knobs", func(t *testing.T) {
		// Every knob is accepted by the kernel, read back by netem show
		// into the flags given, and identical from script and live.
		for _, args := range [][]string{
			{"--corrupt", "5%"},
			{"--delay", "10ms", "--reorder", "25% 50%"},
			{"--slot", "20ms"},
			{"--limit", "500"},
			{"--delay", "10ms 2ms", "--distribution", "pareto"},
			{"--delay", "10ms 2ms", "--distribution", "paretonormal"},
			{"--delay", "5ms", "--child", "fq_codel"},
			{"--delay", "5ms", "--child", "cake"},
			{"--delay", "5ms", "--child", "tbf", "--child-rate", "20mbit"},
		} {
			clearRouter(t)
			applyBoth(t, append(append([]string{"netem", "apply"}, args...), "router", "if-server")...)
			got := showArgs(t, "if-server", "egress")
			verdict := "ok"
			want := args
			if i := indexOf(args, "--distribution"); i >= 0 {
				// The kernel does not report the delay distribution
				// (netem show's note says so): the rest must match.
				want = append(append([]string(nil), args[:i]...), args[i+2:]...)
				t.Logf("%s: read back %q (the kernel does not report the distribution)", strings.Join(args, " "), got)
			}
			if !sameFlags(got, want) {
				verdict = "FAIL"
				t.Errorf("netem show read back %q, applied %q", got, args)
			}
			sum.add("knob "+strings.Join(args, " "), "read back", strings.Join(got, " "), verdict)
		}
	})

	t.Run("rate", func(t *testing.T) {
		clearRouter(t)
		free := goodput(t, false)
		t.Logf("unshaped TCP goodput client->server under UML: %.1f Mbit/s", free/1e6)
		sum.add("TCP goodput unshaped", "-", fmt.Sprintf("%.1f Mbit/s", free/1e6), "-")
		const capMbit = 20.0
		for _, c := range []struct {
			name    string
			args    []string
			reverse bool
		}{
			{"netem rate", []string{"--delay", "5ms", "--rate", "20mbit", "router", "if-server"}, false},
			{"tbf (rate alone)", []string{"--rate", "20mbit", "router", "if-server"}, false},
			{"cake bandwidth", []string{"--child", "cake", "--child-rate", "20mbit", "router", "if-server"}, false},
			{"netem + cake child", []string{"--delay", "10ms", "--child", "cake", "--child-rate", "20mbit", "router", "if-server"}, false},
			{"netem + tbf child", []string{"--delay", "10ms", "--child", "tbf", "--child-rate", "20mbit", "router", "if-server"}, false},
			{"ingress (ifb) rate", []string{"--direction", "ingress", "--rate", "20mbit", "router", "if-client"}, false},
			{"downlink rate", []string{"--delay", "5ms", "--rate", "20mbit", "router", "if-client"}, true},
		} {
			clearRouter(t)
			applyBoth(t, append([]string{"netem", "apply"}, c.args...)...)
			// UML runs the shapers' timers on a host CPU shared with other
			// work: a late timer costs a token bucket (tbf, cake) its
			// credit, never adds any. A measurement outside the tolerance
			// is repeated once and the closer one counts; both are logged.
			want := capMbit * 1e6 * TCPGoodputShare
			g := goodput(t, c.reverse)
			e := (g - want) / want
			if math.Abs(e) > 0.05 {
				g2 := goodput(t, c.reverse)
				t.Logf("%s: first measurement %.2f Mbit/s (%+.2f%%), repeated: %.2f Mbit/s (%+.2f%%)", c.name, g/1e6, 100*e, g2/1e6, 100*(g2-want)/want)
				if math.Abs(g2-want) < math.Abs(g-want) {
					g, e = g2, (g2-want)/want
				}
			}
			verdict := "ok"
			if math.Abs(e) > 0.05 {
				verdict = "FAIL"
				t.Errorf("%s: TCP goodput %.2f Mbit/s, want %.2f (cap %g x %.4f) within 5%%: error %+.1f%%", c.name, g/1e6, want/1e6, capMbit, TCPGoodputShare, 100*e)
			}
			t.Logf("%s: cap %g Mbit/s, TCP goodput %.2f Mbit/s, expected %.2f (payload share %.4f), error %+.2f%%", c.name, capMbit, g/1e6, want/1e6, TCPGoodputShare, 100*e)
			sum.add("rate "+c.name, fmt.Sprintf("%g Mbit/s (goodput %.2f)", capMbit, want/1e6), fmt.Sprintf("%.2f Mbit/s (%+.2f%%)", g/1e6, 100*e), verdict)
		}
	})

	t.Run("limit", func(t *testing.T) {
		// 200 Mbit/s x 100 ms = 1667 packets: npte raises the limit to
		// 3400 (twice the BDP, README), and netem carries it.
		clearRouter(t)
		applyBoth(t, "netem", "apply", "--delay", "100ms", "--rate", "200mbit", "router", "if-server")
		var qs []struct {
			Kind    string         `json:"kind"`
			Options map[string]any `json:"options"`
		}
		if err := json.Unmarshal([]byte(must(t, "tc", "-n", "router", "-j", "qdisc", "show", "dev", "if-server")), &qs); err != nil {
			t.Fatal(err)
		}
		limit := 0.0
		for _, q := range qs {
			if q.Kind == "netem" {
				limit, _ = q.Options["limit"].(float64)
			}
		}
		verdict := "ok"
		if limit != 3400 {
			verdict = "FAIL"
			t.Errorf("netem limit %g, want 3400 (raised for the BDP)", limit)
		}
		t.Logf("delay 100ms rate 200mbit: kernel netem limit %g packets", limit)
		sum.add("limit raised (100ms x 200mbit)", "3400 packets", fmt.Sprintf("%g packets", limit), verdict)
	})

	t.Run("profiles", func(t *testing.T) {
		for _, p := range lab.Profiles() {
			clearRouter(t)
			applyBoth(t, "lab", "netem", "--profile", p.Name)
			downGot := showArgs(t, "if-client", "egress")
			upGot := showArgs(t, "if-server", "egress")
			verdict := "ok"
			// Read back as the same knobs (netem show writes a random
			// loss without the word "random").
			if !sameSpec(downGot, p.Down) || !sameSpec(upGot, p.Up) {
				verdict = "FAIL"
				t.Errorf("profile %s read back down %q up %q, applied down %q up %q", p.Name, downGot, upGot, p.Down.Args(), p.Up.Args())
			}
			down, up, err := p.Specs()
			if err != nil {
				t.Fatal(err)
			}
			// An ICMP echo of 56 bytes is a 98-byte frame; at a rate it
			// also waits its serialization time, once each way.
			ser := 0.0
			for _, sp := range []shape.Spec{down, up} {
				if sp.Rate != nil {
					ser += 98 * 8 / sp.Rate.BitsPerSecond * 1000
				}
			}
			shaped := 1000*(down.Delay.Delay+up.Delay.Delay) + ser
			want := base.Median + shaped
			pp := ping(t, 40, "0.05", 56)
			errMs := pp.Median - want
			if math.Abs(errMs) > delayTolerance(shaped) {
				verdict = "FAIL"
				t.Errorf("profile %s: median RTT %.3f ms, want %.3f +- %.2f", p.Name, pp.Median, want, delayTolerance(shaped))
			}
			t.Logf("profile %s: read back down %q up %q; median RTT %.3f ms (avg %.3f, %d/%d answered), want %.3f (delays + %.2f ms serialization), error %+.3f ms", p.Name, downGot, upGot, pp.Median, pp.Avg, pp.Received, pp.Sent, want, ser, errMs)
			sum.add("profile "+p.Name, fmt.Sprintf("RTT %.1f ms, flags", want), fmt.Sprintf("RTT %.2f (err %+.2f), flags equal", pp.Median, errMs), verdict)
		}
		clearRouter(t)
	})

	npte(t, "lab", "destroy")
}

// showArgs is what `npte netem show --json router IFACE` reads back for
// one direction (nil when unshaped).
func showArgs(t testing.TB, iface, dir string) []string {
	t.Helper()
	var rows []struct {
		Direction string   `json:"direction"`
		Shaped    bool     `json:"shaped"`
		Args      []string `json:"args"`
	}
	out := npte(t, "netem", "show", "--json", "router", iface)
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("netem show --json: %v\n%s", err, out)
	}
	for _, r := range rows {
		if r.Direction == dir && r.Shaped {
			return r.Args
		}
	}
	return nil
}

func indexOf(a []string, s string) int {
	for i, x := range a {
		if x == s {
			return i
		}
	}
	return -1
}

// sameSpec reports whether netem show's flags read back as spec.
func sameSpec(got []string, spec shape.Spec) bool {
	s, err := shape.ParseArgs(got)
	return err == nil && spec.Validate() == nil && reflect.DeepEqual(s, spec)
}

// sameFlags compares two flag lists (--flag value pairs) in any order.
func sameFlags(a, b []string) bool {
	pairs := func(x []string) []string {
		var out []string
		for i := 0; i+1 < len(x); i += 2 {
			out = append(out, x[i]+"="+x[i+1])
		}
		sort.Strings(out)
		return out
	}
	pa, pb := pairs(a), pairs(b)
	if len(pa) != len(pb) || len(a)%2 != 0 || len(b)%2 != 0 {
		return false
	}
	for i := range pa {
		if pa[i] != pb[i] {
			return false
		}
	}
	return true
}
