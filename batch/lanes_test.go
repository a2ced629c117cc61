package batch_test

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/npte/npte/batch"
	"github.com/npte/npte/bench"
	"github.com/npte/npte/internal/fidelity"
	"github.com/npte/npte/plan"
)

// lanesOf returns the plan.Lanes steps of steps (top level).
func lanesOf(steps []plan.Step) []plan.Lanes {
	var out []plan.Lanes
	for _, s := range steps {
		if l, ok := s.(plan.Lanes); ok {
			out = append(out, l)
		}
	}
	return out
}

// commands lists the commands that steps run or stand for, each as its
// argv joined by blanks, in order (a batch's lines, each line's steps; the
// lanes one after another); other steps are left out.
func commands(steps []plan.Step) []string {
	var out []string
	for _, s := range steps {
		switch s := s.(type) {
		case plan.Command:
			out = append(out, strings.Join(s.Argv, " "))
		case plan.Batch:
			for _, l := range s.Lines {
				out = append(out, commands(l.Steps)...)
			}
		case plan.Lanes:
			for _, l := range s.Lanes {
				out = append(out, commands(l)...)
			}
		}
	}
	return out
}

// namespaceOf is the namespace whose own work a command is (ip -n NS, tc
// -n NS, ip netns exec NS, nsenter --net=/run/netns/NS), or "".
func namespaceOf(c string) string {
	f := strings.Fields(c)
	switch {
	case len(f) > 2 && f[0] == "nsenter":
		return strings.TrimPrefix(f[1], "--net="+plan.RunNetns+"/")
	case len(f) > 3 && f[1] == "-n":
		return f[2]
	case len(f) > 3 && f[1] == "netns" && f[2] == "exec":
		return f[3]
	}
	return ""
}

// TestLanes: a chain of fewer than LaneMin namespaces has no lanes; from
// LaneMin on, every namespace's own work is in one of LaneCount lanes,
// whole in one lane (its sysctl lines first, then the rest in the order
// of the plan before the pass), nothing of it outside the lanes, nothing
// lost or added, and the lanes about even.
func TestLanes(t *testing.T) {
	for _, n := range []int{2, batch.LaneMin - 1, batch.LaneMin, 10, 100} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			got := batch.Optimize(bench.Chain(n))
			ls := lanesOf(got.Steps)
			if n < batch.LaneMin {
				if len(ls) != 0 {
					t.Fatalf("Chain(%d) has lanes", n)
				}
				return
			}
			if len(ls) != 1 || len(ls[0].Lanes) != batch.LaneCount {
				t.Fatalf("Chain(%d): %d Lanes steps, want one of %d lanes", n, len(ls), batch.LaneCount)
			}
			owner := map[string]int{}
			size := make([]int, len(ls[0].Lanes))
			for j, lane := range ls[0].Lanes {
				for _, c := range commands(lane) {
					ns := namespaceOf(c)
					if ns == "" {
						t.Errorf("lane %d runs %q, which is no namespace's own work", j+1, c)
						continue
					}
					if o, ok := owner[ns]; ok && o != j {
						t.Errorf("%s has work in lanes %d and %d", ns, o+1, j+1)
					}
					owner[ns] = j
					size[j]++
				}
			}
			if len(owner) != n {
				t.Errorf("%d namespaces in lanes, want %d", len(owner), n)
			}
			// Even up to one namespace's work.
			per := map[string]int{}
			for _, c := range commands(got.Steps) {
				per[namespaceOf(c)]++
			}
			delete(per, "")
			most := 0
			for _, k := range per {
				most = max(most, k)
			}
			if slices.Max(size)-slices.Min(size) > most {
				t.Errorf("lanes uneven: %v commands (one namespace has at most %d)", size, most)
			}
			for _, s := range got.Steps {
				if _, ok := s.(plan.Lanes); ok {
					continue
				}
				for _, c := range commands([]plan.Step{s}) {
					if ns := namespaceOf(c); ns != "" {
						t.Errorf("%q (of %s) is outside the lanes", c, ns)
					}
				}
			}
			before, after := commands(bench.Chain(n).Steps), commands(got.Steps)
			for ns := range owner {
				var settings, rest, sys, y []string
				for _, c := range before {
					switch {
					case namespaceOf(c) != ns:
					case strings.Contains(c, " sysctl "):
						settings = append(settings, strings.Fields(c)[7:]...)
					default:
						rest = append(rest, c)
					}
				}
				for _, c := range after {
					switch {
					case namespaceOf(c) != ns:
					case strings.Contains(c, " sysctl "):
						sys = append(sys, c)
					default:
						y = append(y, c)
					}
				}
				// Its sysctls: one nsenter sysctl -e with every setting,
				// in the lane before its batches.
				want := strings.Join(slices.Concat(plan.EnterNetns(ns), []string{"sysctl", "-q", "-e", "-w"}, settings), " ")
				if len(sys) != 1 || sys[0] != want {
					t.Errorf("%s: sysctls %q, want %q", ns, sys, want)
				}
				lane := commands(ls[0].Lanes[owner[ns]])
				if i, k := slices.Index(lane, want), slices.IndexFunc(lane, func(c string) bool { return namespaceOf(c) == ns && !strings.Contains(c, " sysctl ") }); i < 0 || k < i {
					t.Errorf("%s: its sysctls come after its batches in its lane", ns)
				}
				// The guards the pass proves (ip -n NS link show) are
				// dropped; everything else stays, in order.
				rest = slices.DeleteFunc(rest, func(c string) bool { return strings.Contains(c, " link show ") })
				if !reflect.DeepEqual(rest, y) {
					t.Errorf("%s: its work in its lane differs from the plan before the pass:\nbefore %q\nafter  %q", ns, rest, y)
				}
			}
		})
	}
}

// TestLanesNotAcrossNamespaces: a namespace's line that names another
// namespace (a link moved into it) keeps the run without lanes: one lane
// could depend on another.
func TestLanesNotAcrossNamespaces(t *testing.T) {
	p := bench.Chain(10)
	p.Steps = slices.Insert(slices.Clone(p.Steps), len(p.Steps)-1,
		plan.Step(plan.Command{Argv: []string{"ip", "-n", "ns1", "link", "set", "dev", "if-ns2", "netns", "ns5"}}))
	if got := batch.Optimize(p); len(lanesOf(got.Steps)) != 0 {
		t.Errorf("a line naming another namespace was put in a lane")
	}
	if got := batch.Optimize(bench.Chain(10)); len(lanesOf(got.Steps)) != 1 {
		t.Errorf("Chain(10) without that line has no lanes")
	}
}

// TestLanesFidelity: the script's background lanes and live npte's run
// the same programs with the same stdin, lane by lane; a failing line in
// one lane (or in two) fails both with exit 1, and live npte names the
// failed step, lists what the other lanes did, and the cleanup command,
// the same every time.
func TestLanesFidelity(t *testing.T) {
	live := fidelity.Check(t, fidelity.Setup{}, fidelity.AllSucceed, "lab", "chain", "10")
	lanes := map[int]bool{}
	for _, e := range live.Events {
		lanes[e.Lane] = true
	}
	if live.Exit != 0 || len(lanes) != batch.LaneCount+1 {
		t.Fatalf("exit %d, lanes %v: %s", live.Exit, lanes, live.Stderr)
	}
	failing := func(prefixes ...string) fidelity.World {
		return func(argv []string) int {
			for _, p := range prefixes {
				if strings.Join(argv, " ") == p {
					return 1
				}
			}
			return 0
		}
	}
	for _, tc := range []struct {
		name string
		w    fidelity.World
		want []string
	}{
		{"one lane", failing("nsenter --net=/run/netns/ns6 ip -batch -"), []string{"npte: step 17/30 failed: nsenter --net=/run/netns/ns6 ip -batch - (7 commands): exit status 1 (lane 2 of 4)\n",
			"possibly part of nsenter '--net=/run/netns/ns6' ip -batch -", "ip -n ns8 route replace 10.0.1.0/24 via 10.0.7.1", "to clean up, run: npte lab chain --destroy 10"}},
		{"two lanes", failing("nsenter --net=/run/netns/ns6 ip -batch -", "nsenter --net=/run/netns/ns3 ip -batch -"), []string{"(lane 2 of 4; 2 lanes failed, the first is shown)", "possibly part of nsenter '--net=/run/netns/ns3' ip -batch -"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var first string
			for i := 0; i < 5; i++ {
				live := fidelity.Check(t, fidelity.Setup{}, tc.w, "lab", "chain", "10")
				if live.Exit != 1 {
					t.Fatalf("exit %d, want 1: %s", live.Exit, live.Stderr)
				}
				for _, w := range tc.want {
					if !strings.Contains(live.Stderr, w) {
						t.Errorf("the report lacks %q:\n%s", w, live.Stderr)
					}
				}
				// The "+ ARGV" lines follow the lanes' timing; the
				// report does not.
				report := fidelity.Diagnostics(live.Stderr, "", "")
				if i == 0 {
					first = report
				} else if report != first {
					t.Fatalf("the report changed from run to run:\n%s\n---\n%s", first, report)
				}
			}
		})
	}
}
