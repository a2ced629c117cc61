package batch_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/npte/npte/internal/fidelity"
)

// chainLinks is what `ip -n nsI -o link show group 28272` prints in a
// chain of n (its links to nsI-1 and nsI+1), with extra lines per
// namespace.
func chainLinks(n int, extra map[string]string) func([]string) string {
	return func(argv []string) string {
		if len(argv) != 8 || argv[0] != "ip" || argv[3] != "-o" || argv[5] != "show" {
			return ""
		}
		var i int
		if _, err := fmt.Sscanf(argv[2], "ns%d", &i); err != nil {
			return ""
		}
		var b strings.Builder
		for _, j := range []int{i - 1, i + 1} {
			if j >= 1 && j <= n {
				fmt.Fprintf(&b, "%d: if-ns%d@if2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DEFAULT group 28272 qlen 1000\\    link/ether 02:00:00:00:00:%02x brd ff:ff:ff:ff:ff:ff link-netns ns%d\n", j+1, j, j, j)
			}
		}
		b.WriteString(extra[argv[2]])
		return b.String()
	}
}

// TestBusyTeardownFidelity: the batched teardown of a chain of 4 with
// processes in some of its namespaces (plan.CutBusyLinks), script and
// live alike: no busy namespace runs no ip at all before the netns del
// batch; otherwise the busy namespaces' links are read, and the links are
// deleted in as few of them as keep no link between two busy namespaces
// (or from one to a namespace outside the teardown).
func TestBusyTeardownFidelity(t *testing.T) {
	chain := []string{"ns1", "ns2", "ns3", "ns4"}
	outside := map[string]string{"ns2": "9: if-x@if3: <BROADCAST> mtu 1500 qdisc noop state DOWN mode DEFAULT group 28272 qlen 1000\\    link/ether 02:00:00:00:00:09 brd ff:ff:ff:ff:ff:ff link-netnsid 7\n"}
	for _, tc := range []struct {
		name  string
		busy  []string
		extra map[string]string
		shown []string // namespaces whose links are read
		cut   []string // namespaces whose links are deleted
	}{
		{"no process", nil, nil, nil, nil},
		{"ns2 and ns3", []string{"ns2", "ns3"}, nil, []string{"ns2", "ns3"}, []string{"ns3"}},
		{"all four", chain, nil, chain, []string{"ns2", "ns4"}},
		{"ns1 and ns3, not adjacent", []string{"ns1", "ns3"}, nil, []string{"ns1", "ns3"}, nil},
		{"ns4 alone", []string{"ns4"}, nil, []string{"ns4"}, nil},
		{"ns2 with a link outside", []string{"ns2"}, outside, []string{"ns2"}, []string{"ns2"}},
		{"ns2 with a link outside, ns3", []string{"ns2", "ns3"}, outside, []string{"ns2", "ns3"}, []string{"ns2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := fidelity.Setup{Managed: chain, Busy: tc.busy, Output: chainLinks(4, tc.extra)}
			live := fidelity.Check(t, s, fidelity.AllSucceed, "lab", "chain", "--destroy", "4")
			if live.Exit != 0 {
				t.Fatalf("exit %d: %s", live.Exit, live.Stderr)
			}
			var shown, cut, ips []string
			for _, e := range live.Events {
				a := e.Argv
				switch {
				case len(a) == 8 && a[0] == "ip" && a[3] == "-o" && a[5] == "show":
					shown = append(shown, a[2])
				case len(a) == 7 && a[0] == "ip" && a[3] == "link" && a[4] == "delete":
					cut = append(cut, a[2])
				}
				if a[0] == "ip" || a[0] == "awk" {
					ips = append(ips, e.String())
				}
			}
			if fmt.Sprint(shown) != fmt.Sprint(tc.shown) || fmt.Sprint(cut) != fmt.Sprint(tc.cut) {
				t.Errorf("read the links of %v, deleted those of %v; want %v, %v", shown, cut, tc.shown, tc.cut)
			}
			if len(tc.busy) == 0 && len(ips) != 1 {
				// Only the netns del batch: no ip link delete, no read.
				t.Errorf("with no process, ran %q", ips)
			}
		})
	}
}

// TestBusyTeardownFails: a failing read or deletion stops the teardown
// with exit 1, script and live alike, before the netns del batch.
func TestBusyTeardownFails(t *testing.T) {
	chain := []string{"ns1", "ns2", "ns3", "ns4"}
	for _, failing := range []string{"ip -n ns3 -o link show group 28272", "ip -n ns3 link delete group 28272"} {
		w := func(argv []string) int {
			if strings.Join(argv, " ") == failing {
				return 1
			}
			return 0
		}
		s := fidelity.Setup{Managed: chain, Busy: []string{"ns2", "ns3"}, Output: chainLinks(4, nil)}
		live := fidelity.Check(t, s, w, "lab", "chain", "--destroy", "4")
		if live.Exit != 1 {
			t.Errorf("%s fails: exit %d, want 1", failing, live.Exit)
		}
		for _, e := range live.Events {
			if e.Argv[0] == "ip" && e.Argv[1] == "-batch" {
				t.Errorf("%s fails: the teardown went on: %s", failing, e)
			}
		}
		if !strings.Contains(live.Stderr, "delete the links between namespaces that a process keeps alive") {
			t.Errorf("%s fails: the error names no step:\n%s", failing, live.Stderr)
		}
	}
}
