package batch_test

import (
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/npte/npte/batch"
	"github.com/npte/npte/bench"
	"github.com/npte/npte/internal/fidelity"
	"github.com/npte/npte/lab"
	"github.com/npte/npte/netns"
	"github.com/npte/npte/plan"
	"github.com/npte/npte/render"
)

// programs counts the programs a plan starts when every step runs (both
// branches of a condition counted once, the first), and the lines its
// batches carry.
func programs(steps []plan.Step) (procs, lines int) {
	for _, s := range steps {
		switch s := s.(type) {
		case plan.Command, plan.Probe, plan.RequireIface:
			procs++
		case plan.Batch:
			procs++
			lines += len(s.Lines)
		case plan.IfOnlyOwned:
			p, l := programs(s.Then)
			procs, lines = procs+p, lines+l
		case plan.IfOwned:
			p, l := programs(s.Then)
			procs, lines = procs+p, lines+l
		case plan.IfNetns:
			p, l := programs(s.Then)
			procs, lines = procs+p, lines+l
		case plan.Lanes:
			for _, lane := range s.Lanes {
				p, l := programs(lane)
				procs, lines = procs+p, lines+l
			}
		}
	}
	return procs, lines
}

// TestOptimizePure: Optimize does not change its argument and gives the
// same plan twice.
func TestOptimizePure(t *testing.T) {
	for _, p := range []plan.Plan{lab.Create(), lab.Destroy(), bench.Chain(5), bench.ChainDestroy(5)} {
		orig := clonePlan(p)
		a, b := batch.Optimize(p), batch.Optimize(p)
		if !reflect.DeepEqual(p, orig) {
			t.Errorf("%v: Optimize changed its argument", p.Argv)
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%v: Optimize is not deterministic", p.Argv)
		}
		if !reflect.DeepEqual(a.Argv, p.Argv) || !reflect.DeepEqual(a.Undo, p.Undo) {
			t.Errorf("%v: Optimize changed Argv or Undo", p.Argv)
		}
	}
}

func clonePlan(p plan.Plan) plan.Plan {
	q := p
	q.Steps = append([]plan.Step(nil), p.Steps...)
	return q
}

// TestOptimizeProcesses: a chain of N is built with one host batch, one
// batch per namespace, one modprobe, and two processes for all its
// resolv.conf files (and, with lanes, one sysctl process per namespace), and no guard that needs a program after the first change;
// torn down, when npte's records hold exactly the chain, with one rm and
// one ip -batch.
func TestOptimizeProcesses(t *testing.T) {
	for _, n := range []int{2, 10, 100} {
		p := batch.Optimize(bench.Chain(n))
		procs, lines := programs(p.Steps)
		want := n + 4 // modprobe, host batch, n namespace batches, install -d, awk
		if n >= batch.LaneMin {
			want += n // in lanes, each namespace's sysctls are a process of their own (nsenter)
		}
		if procs != want {
			t.Errorf("Chain(%d) batched starts %d programs, want %d", n, procs, want)
		}
		unb, _ := programs(bench.Chain(n).Steps)
		if lines == 0 || unb < 5*n {
			t.Errorf("Chain(%d): %d batch lines, %d programs unbatched", n, lines, unb)
		}
		d := batch.Optimize(bench.ChainDestroy(n))
		if len(d.Steps) != 2 {
			t.Fatalf("ChainDestroy(%d) batched: %d top-level steps, want the lock and one IfOnlyOwned", n, len(d.Steps))
		}
		io, ok := d.Steps[1].(plan.IfOnlyOwned)
		if !ok {
			t.Fatalf("ChainDestroy(%d) batched: step 2 is %T", n, d.Steps[1])
		}
		if procs, _ := programs(io.Then); procs != 2 {
			t.Errorf("ChainDestroy(%d) fast path starts %d programs, want 2 (rm, ip -batch)", n, procs)
		}
		if !reflect.DeepEqual(io.Else, bench.ChainDestroy(n).Steps[1:]) {
			t.Errorf("ChainDestroy(%d): the fallback is not the unbatched teardown", n)
		}
	}
}

// TestOptimizeKeepsWhatItCannotProve: guards about namespaces the plan did
// not make stay, and end the run; a word iproute2's batch parser cannot
// carry keeps its command unbatched; a plan of one verb is unchanged.
func TestOptimizeKeepsWhatItCannotProve(t *testing.T) {
	addr := netip.MustParsePrefix("10.0.0.1/24")
	p := plan.Plan{Steps: append(append([]plan.Step{plan.Lock{}},
		netns.AssignAddrSteps("a", "if-b", addr)...), netns.AssignAddrSteps("a", "if-c", addr)...)}
	got := batch.Optimize(p)
	if !reflect.DeepEqual(got, p) {
		t.Errorf("guards of namespaces the plan did not make were dropped or moved:\n%#v", got.Steps)
	}
	for _, single := range []plan.Plan{netns.Create("demo", netns.DefaultDNS), netns.Connect("a", "b"), netns.Destroy("demo")} {
		if got := batch.Optimize(single); !reflect.DeepEqual(got.Steps, single.Steps) && len(got.Steps) >= len(single.Steps) {
			t.Errorf("%v: batching made it longer", single.Argv)
		}
	}
	q := plan.Plan{Steps: []plan.Step{plan.Lock{},
		plan.Command{Argv: []string{"ip", "-n", "a", "link", "set", "dev", "x", "alias", `say "hi"`}},
		plan.Command{Argv: []string{"ip", "-n", "a", "link", "set", "dev", "x", "up"}},
		plan.Command{Argv: []string{"ip", "-n", "a", "link", "set", "dev", "y", "up"}},
	}}
	got = batch.Optimize(q)
	if len(got.Steps) != 3 || !reflect.DeepEqual(got.Steps[1], q.Steps[1]) {
		t.Errorf("a word with a quote was batched, or the rest was not:\n%#v", got.Steps)
	}
	if b, ok := got.Steps[2].(plan.Batch); !ok || b.Stdin() != "link set dev x up\nlink set dev y up\n" {
		t.Errorf("step 3 is %#v", got.Steps[2])
	}
}

// TestBatchWord: words iproute2's makeargs reads back as themselves.
func TestBatchWord(t *testing.T) {
	for _, tc := range []struct {
		in, out string
		ok      bool
	}{
		{"eth0", "eth0", true},
		{"net.ipv4.tcp_rmem=4096 131072 33554432", `"net.ipv4.tcp_rmem=4096 131072 33554432"`, true},
		{"a\tb", "\"a\tb\"", true},
		{"", "", false},
		{`a"b`, "", false},
		{"a'b", "", false},
		{"a#b", "", false},
		{`a\b`, "", false},
		{"a\nb", "", false},
		{"a\rb", "", false},
		{"a\x00b", "", false},
		{"a b\tc", "\"a b\tc\"", true},
	} {
		got, ok := plan.BatchWord(tc.in)
		if got != tc.out || ok != tc.ok {
			t.Errorf("BatchWord(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.out, tc.ok)
		}
	}
	if got := plan.FailedLine("Error: x\nCommand failed -:12\n"); got != 12 {
		t.Errorf("FailedLine = %d", got)
	}
	if got := plan.FailedLine("nothing"); got != 0 {
		t.Errorf("FailedLine = %d", got)
	}
}

// TestTeardownFidelity: script and live take the same branch of the
// batched teardown (same programs, same stdin): the one ip -batch when
// npte's records hold exactly the chain, the one-at-a-time teardown when
// another managed namespace exists or part of the chain is half made.
func TestTeardownFidelity(t *testing.T) {
	chain := []string{"ns1", "ns2", "ns3", "ns4"}
	for _, tc := range []struct {
		name  string
		setup fidelity.Setup
		fast  bool
	}{
		{"exactly the chain", fidelity.Setup{Managed: chain}, true},
		{"another namespace", fidelity.Setup{Managed: append(chain[:4:4], "other")}, false},
		{"half made", fidelity.Setup{Managed: chain[:2], Intents: chain[2:3]}, false},
		{"a gateway record", fidelity.Setup{Managed: chain, Gateways: []string{"ns1.nft"}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			live := fidelity.Check(t, tc.setup, fidelity.AllSucceed, "lab", "chain", "--destroy", "4")
			var all []string
			for _, e := range live.Events {
				all = append(all, e.String())
			}
			got := strings.Join(all, "\n")
			fast := strings.Contains(got, `ip -batch - <<< "netns del ns1\nnetns del ns2\nnetns del ns3\nnetns del ns4\n"`)
			slow := strings.Contains(got, "ip -n ns1 link delete group 28272")
			if fast != tc.fast || slow == tc.fast {
				t.Errorf("fast path %v, one at a time %v; want fast %v:\n%s", fast, slow, tc.fast, got)
			}
		})
	}
}

// TestBuildFidelity: script and live of the batched and unbatched chain
// run the same programs with the same stdin (the goldens check lab create
// the same way); a failing host batch stops both with exit 1.
func TestBuildFidelity(t *testing.T) {
	// No interface exists before the run; `ip link add` makes both ends
	// (the first `ip netns add ns1` of each side starts afresh).
	made := map[string]bool{}
	fresh := func(argv []string) int {
		switch {
		case strings.Join(argv, " ") == "ip netns add ns1":
			clear(made)
		case len(argv) > 3 && argv[1] == "link" && argv[2] == "add":
			made[argv[6]+"/"+argv[4]] = true
			made[argv[15]+"/"+argv[13]] = true
		case len(argv) == 7 && argv[3] == "link" && argv[4] == "show":
			if made[argv[2]+"/"+argv[6]] {
				return 0
			}
			return 1
		}
		return 0
	}
	for _, args := range [][]string{{"lab", "chain", "5"}, {"lab", "chain", "--no-batch", "5"}} {
		live := fidelity.Check(t, fidelity.Setup{}, fresh, args...)
		if live.Exit != 0 {
			t.Errorf("%v: exit %d: %s", args, live.Exit, live.Stderr)
		}
	}
	fail := func(argv []string) int {
		if strings.Join(argv, " ") == "ip -batch -" {
			return 1
		}
		return 0
	}
	if live := fidelity.Check(t, fidelity.Setup{}, fail, "lab", "chain", "5"); live.Exit != 1 {
		t.Errorf("failing batch: exit %d, want 1", live.Exit)
	}
}

// TestOptimizeTC: tc commands of one namespace become one tc -n NS -batch,
// after the ip batches even when a tc command came first; `ip -n NS -6` commands get their own batch (-6 is
// a global option); a tolerated tc command ends the run.
func TestOptimizeTC(t *testing.T) {
	c := func(tolerant bool, argv ...string) plan.Step { return plan.Command{Argv: argv, Tolerant: tolerant} }
	p := plan.Plan{Steps: []plan.Step{plan.Lock{},
		c(false, "tc", "-n", "a", "qdisc", "replace", "dev", "x", "root", "handle", "1:", "netem", "delay", "20ms"),
		c(false, "ip", "-n", "a", "-6", "route", "replace", "default", "via", "fd00::1"),
		c(false, "tc", "-n", "a", "qdisc", "replace", "dev", "x", "parent", "1:1", "handle", "10:", "fq_codel"),
		c(false, "ip", "-n", "a", "-6", "route", "replace", "fd01::/64", "via", "fd00::1"),
		c(true, "tc", "-n", "a", "qdisc", "del", "dev", "y", "ingress"),
	}}
	got := batch.Optimize(p)
	var descr []string
	for _, s := range got.Steps[1:] {
		switch s := s.(type) {
		case plan.Batch:
			descr = append(descr, strings.Join(s.Argv, " ")+": "+s.Stdin())
		default:
			descr = append(descr, s.Describe())
		}
	}
	want := []string{
		"ip -n a -6 -batch -: route replace default via fd00::1\nroute replace fd01::/64 via fd00::1\n",
		"tc -n a -batch -: qdisc replace dev x root handle 1: netem delay 20ms\nqdisc replace dev x parent 1:1 handle 10: fq_codel\n",
		"tc -n a qdisc del dev y ingress",
	}
	if strings.Join(descr, "|") != strings.Join(want, "|") {
		t.Errorf("got\n%q\nwant\n%q", descr, want)
	}
}

// TestOptimizeGuardsOnce: the creation guards of a chain become one
// RequireAllAbsent naming every namespace, whose script checks /etc/netns
// with one find (one per namespace before); a run whose names do not pair
// up is left alone.
func TestOptimizeGuardsOnce(t *testing.T) {
	for _, n := range []int{2, 10, 100} {
		p := batch.Optimize(bench.Chain(n))
		var all []plan.RequireAllAbsent
		plan.Walk(p.Steps, func(s plan.Step) {
			switch s := s.(type) {
			case plan.RequireAllAbsent:
				all = append(all, s)
			case plan.RequireAbsent, plan.RequireEtcNetnsAbsent:
				t.Errorf("Chain(%d) batched keeps %#v", n, s)
			}
		})
		if len(all) != 1 || len(all[0].Names) != n || all[0].Names[0] != "ns1" || all[0].Names[n-1] != "ns"+strconv.Itoa(n) {
			t.Fatalf("Chain(%d) batched: RequireAllAbsent steps %v", n, all)
		}
		script, err := render.Script(p, render.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if c := strings.Count(script, "find /etc/netns -prune"); c != 1 {
			t.Errorf("Chain(%d) batched script runs find /etc/netns %d times, want 1", n, c)
		}
		unb, err := render.Script(bench.Chain(n), render.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if c := strings.Count(unb, "find /etc/netns -prune"); c != n {
			t.Errorf("Chain(%d) unbatched script runs find /etc/netns %d times, want %d", n, c, n)
		}
	}
	odd := plan.Plan{Steps: []plan.Step{plan.Lock{},
		plan.RequireAbsent{Name: "a"}, plan.RequireEtcNetnsAbsent{Name: "b"},
		plan.RequireAbsent{Name: "b"}, plan.RequireEtcNetnsAbsent{Name: "c"},
	}}
	if got := batch.Optimize(odd); !reflect.DeepEqual(got.Steps, odd.Steps) {
		t.Errorf("guards whose names do not pair up were coalesced: %#v", got.Steps)
	}
}
