package plan_test

import (
	"fmt"
	"math/rand"
	"os/exec"
	"strings"
	"testing"

	"github.com/npte/npte/plan"
)

// cover runs CoverAwk with awk (argv prefix) on the links of busy
// namespaces: edges are pairs of indices into names, peers outside the
// teardown are "" (link-netnsid).
func cover(t *testing.T, awk []string, names []string, busy map[string]bool, edges [][2]string) []string {
	t.Helper()
	s := plan.CutBusyLinks{Names: names, Group: "28272"}
	var b []string
	var shown []string
	for _, n := range names {
		if !busy[n] {
			continue
		}
		var out strings.Builder
		for i, e := range edges {
			for _, end := range [][2]string{{e[0], e[1]}, {e[1], e[0]}} {
				if end[0] != n {
					continue
				}
				peer := " link-netns " + end[1]
				if end[1] == "" {
					peer = " link-netnsid 7"
				}
				fmt.Fprintf(&out, "%d: if-%s@if2: <BROADCAST> mtu 1500 qdisc noqueue state UP mode DEFAULT group 28272 qlen 1000\\    link/ether 02:00:00:00:00:01 brd ff:ff:ff:ff:ff:ff%s\n", i+2, end[1], peer)
			}
		}
		b = append(b, n)
		shown = append(shown, out.String())
	}
	argv := s.CoverArgv()
	cmd := exec.Command(awk[0], append(awk[1:], argv[1:]...)...)
	cmd.Stdin = strings.NewReader(plan.CoverInput(b, shown))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %v\n%s", awk, err, out)
	}
	return strings.Fields(string(out))
}

func awks(t *testing.T) [][]string {
	var out [][]string
	for _, a := range [][]string{{"mawk"}, {"gawk"}, {"busybox", "awk"}, {"original-awk"}} {
		if _, err := exec.LookPath(a[0]); err == nil {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		t.Skip("no awk installed")
	}
	return out
}

func chain(n int) (names []string, edges [][2]string) {
	for i := 1; i <= n; i++ {
		names = append(names, fmt.Sprintf("ns%d", i))
		if i > 1 {
			edges = append(edges, [2]string{names[i-2], names[i-1]})
		}
	}
	return names, edges
}

// TestCoverAwk: the namespaces CoverAwk chooses, with every awk at hand.
func TestCoverAwk(t *testing.T) {
	all := func(names []string) map[string]bool {
		m := map[string]bool{}
		for _, n := range names {
			m[n] = true
		}
		return m
	}
	c4, e4 := chain(4)
	c7, e7 := chain(7)
	for _, awk := range awks(t) {
		for _, tc := range []struct {
			name  string
			names []string
			busy  map[string]bool
			edges [][2]string
			want  string
		}{
			{"nobody busy", c4, nil, e4, "[]"},
			{"ns2 ns3 of 4", c4, map[string]bool{"ns2": true, "ns3": true}, e4, "[ns3]"},
			{"all of 4", c4, all(c4), e4, "[ns2 ns4]"},
			{"all of 7", c7, all(c7), e7, "[ns2 ns4 ns6]"},
			{"ns1 ns3 of 4", c4, map[string]bool{"ns1": true, "ns3": true}, e4, "[]"},
			{"a link outside", c4, map[string]bool{"ns2": true, "ns3": true}, append(e4, [2]string{"ns2", ""}), "[ns2]"},
			{"a star", []string{"a", "b", "c", "d"}, all([]string{"a", "b", "c", "d"}), [][2]string{{"a", "b"}, {"a", "c"}, {"a", "d"}}, "[a]"},
			{"a triangle", []string{"a", "b", "c"}, all([]string{"a", "b", "c"}), [][2]string{{"a", "b"}, {"b", "c"}, {"a", "c"}}, "[a c]"},
		} {
			if got := fmt.Sprint(cover(t, awk, tc.names, tc.busy, tc.edges)); got != tc.want {
				t.Errorf("%v %s: cover %s, want %s", awk, tc.name, got, tc.want)
			}
		}
		// A chain of N busy namespaces costs floor(N/2) deletions.
		for _, n := range []int{2, 3, 10, 101} {
			names, edges := chain(n)
			if got := len(cover(t, awk, names, all(names), edges)); got != n/2 {
				t.Errorf("%v: chain of %d busy: %d deletions, want %d", awk, n, got, n/2)
			}
		}
	}
}

// TestCoverAwkCovers: on random graphs, every link between two busy
// namespaces, and every link of a busy namespace to one outside the
// teardown, has a chosen end, and every awk chooses the same.
func TestCoverAwkCovers(t *testing.T) {
	rng := rand.New(rand.NewSource(14))
	as := awks(t)
	for round := 0; round < 40; round++ {
		n := 2 + rng.Intn(12)
		var names []string
		busy := map[string]bool{}
		for i := 0; i < n; i++ {
			names = append(names, fmt.Sprintf("n%d", i))
			if rng.Intn(3) > 0 {
				busy[names[i]] = true
			}
		}
		var edges [][2]string
		for i := 0; i < n; i++ {
			for j := i + 1; j < n; j++ {
				if rng.Intn(4) == 0 {
					edges = append(edges, [2]string{names[i], names[j]})
				}
			}
			if rng.Intn(8) == 0 {
				edges = append(edges, [2]string{names[i], ""})
			}
		}
		var first string
		for _, awk := range as {
			got := cover(t, awk, names, busy, edges)
			chosen := map[string]bool{}
			for _, c := range got {
				chosen[c] = true
			}
			for _, e := range edges {
				a, b := e[0], e[1]
				if b == "" && busy[a] && !chosen[a] || b != "" && busy[a] && busy[b] && !chosen[a] && !chosen[b] {
					t.Errorf("%v round %d: link %s-%s left between namespaces that outlive the teardown (busy %v, chosen %v)", awk, round, a, b, busy, got)
				}
			}
			if first == "" {
				first = fmt.Sprint(got)
			} else if fmt.Sprint(got) != first {
				t.Errorf("round %d: %v chose %v, another awk %s", round, awk, got, first)
			}
		}
	}
}
