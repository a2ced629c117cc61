package cli_test

// Live tests of `lab create` as the apply of the embedded built-in lab
// file (issue 13), each in its own private sandbox. The hand-written form
// of the lab (lab.Create, lab.Destroy: what lab create ran before the lab
// file) runs as its dry-run script, which the fidelity check proves runs
// exactly what the live executor would.

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/npte/npte/internal/sandbox"
	"github.com/npte/npte/lab"
	"github.com/npte/npte/plan"
	"github.com/npte/npte/render"
)

// lcScript runs the dry-run script of p with sh, as root in the sandbox.
func lcScript(t *testing.T, p plan.Plan) {
	t.Helper()
	s, err := render.Script(p, render.Options{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", "-s")
	cmd.Stdin = strings.NewReader(s)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npte %s (hand-written form) | sh: %v\n%s", strings.Join(p.Argv, " "), err, out)
	}
}

// lcVolatileSysctl are sysctls whose values change between two identical
// runs (counters, random keys).
var lcVolatileSysctl = regexp.MustCompile(`^net\.(netfilter\.nf_conntrack_count|core\.netdev_rss_key|ipv4\.tcp_fastopen_key|ipv6\.conf\.[^.]+\.stable_secret)\b`)

// lcState is everything a lab can change, for comparing two builds of it:
// lbState (namespaces, links, addresses, routes of every table, qdiscs,
// markers, intent records, /etc/netns with contents), every net.* sysctl
// of each namespace, and the files below /run/npte with their modes,
// except the lab records (returned apart).
func lcState(t *testing.T) (state, records string) {
	t.Helper()
	lcSettle(t)
	var b strings.Builder
	b.WriteString(lbState(t))
	for _, n := range lbList("/run/netns") {
		out, _ := exec.Command("ip", "netns", "exec", n, "sysctl", "-a").Output()
		var keep []string
		for _, line := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(line, "net.") && !lcVolatileSysctl.MatchString(line) {
				keep = append(keep, line)
			}
		}
		b.WriteString("[" + n + "] sysctl:\n" + strings.Join(keep, "\n") + "\n")
	}
	var files, recs []string
	_ = filepath.Walk("/run/npte", func(p string, fi os.FileInfo, err error) error {
		if err != nil || p == "/run/npte/lock" {
			return nil
		}
		line := p + " " + fi.Mode().String()
		if p == "/run/npte/lab" || strings.HasPrefix(p, "/run/npte/lab/") {
			recs = append(recs, line)
		} else {
			files = append(files, line)
		}
		return nil
	})
	sort.Strings(files)
	sort.Strings(recs)
	b.WriteString("run/npte:\n" + strings.Join(files, "\n") + "\n")
	return b.String(), strings.Join(recs, "\n")
}

// lcSettle waits until no namespace has a tentative IPv6 address: the
// kernel adds the local and anycast routes of a link-local address when
// its duplicate address detection ends, so two snapshots of one lab
// differ until then.
func lcSettle(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for _, n := range lbList("/run/netns") {
		for {
			out, err := exec.Command("ip", "-n", n, "-6", "addr", "show", "tentative").Output()
			if err != nil || strings.TrimSpace(string(out)) == "" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: IPv6 addresses still tentative after 20 s:\n%s", n, out)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// lcDiff lists the lines only a has (-) and only b has (+).
func lcDiff(a, b string) string {
	count := map[string]int{}
	for _, l := range strings.Split(a, "\n") {
		count[l]++
	}
	for _, l := range strings.Split(b, "\n") {
		count[l]--
	}
	var out []string
	for l, n := range count {
		switch {
		case n > 0:
			out = append(out, "- "+l)
		case n < 0:
			out = append(out, "+ "+l)
		}
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

// TestLiveLabCreateSameLab: the lab file builds the very lab the
// hand-written builder built: the same namespaces, links, addresses,
// routes, qdiscs, sysctls, /etc/netns files, markers. The only difference
// is the lab record /run/npte/lab/builtin/ (new: what makes create
// converge and destroy exact).
func TestLiveLabCreateSameLab(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	lcScript(t, lab.Create())
	old, oldRecs := lcState(t)
	lcScript(t, lab.Destroy())
	if left := lbLeftovers(); left != "" {
		t.Fatalf("the hand-written destroy left: %s", left)
	}
	lbMust(t, 0, "lab", "create")
	now, recs := lcState(t)
	if old != now {
		t.Errorf("lab create builds another lab than the hand-written builder:\n%s", lcDiff(old, now))
	}
	if oldRecs != "" {
		t.Errorf("the hand-written lab has lab records: %s", oldRecs)
	}
	want := "/run/npte/lab drwxr-xr-x\n/run/npte/lab/builtin drwxr-xr-x\n/run/npte/lab/builtin/digest -rw-r--r--\n/run/npte/lab/builtin/lab.json -rw-r--r--"
	if recs != want {
		t.Errorf("lab records:\n%s\nwant:\n%s", recs, want)
	}
	t.Logf("hand-written lab and lab file: %d lines of state compared, equal; the lab file adds only its record", strings.Count(now, "\n"))
	lbMust(t, 0, "lab", "destroy")
	if left := lbLeftovers(); left != "" {
		t.Errorf("lab destroy left: %s", left)
	}
}

// TestLiveLabCreateIsApply: lab create and lab apply of
// examples/builtin.yaml are one lab: after either, the other (and a
// second create) has nothing to do, the state stays byte for byte, and
// lab destroy, lab destroy builtin and lab destroy FILE each remove it.
func TestLiveLabCreateIsApply(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	file, err := filepath.Abs("../examples/builtin.yaml")
	if err != nil {
		t.Fatal(err)
	}
	converges := func(args ...string) {
		t.Helper()
		before, recs := lcState(t)
		r := lbMust(t, 0, args...)
		if !strings.Contains(r.stderr, "npte: lab builtin: no changes") {
			t.Errorf("npte %s: not an empty plan:\n%s", strings.Join(args, " "), r.stderr)
		}
		if after, recs2 := lcState(t); after != before || recs2 != recs {
			t.Errorf("npte %s changed the state:\n%s\nrecords:\n%s", strings.Join(args, " "), lcDiff(before, after), lcDiff(recs, recs2))
		}
		// Its script holds only the guards: after the lock, no program runs.
		d := lbMust(t, 0, append(args, "--dry-run")...)
		_, body, ok := strings.Cut(d.stdout, "flock -w 2 9")
		if !ok {
			t.Fatalf("npte %s --dry-run takes no lock:\n%s", strings.Join(args, " "), d.stdout)
		}
		for _, l := range strings.Split(body, "\n") {
			if c := strings.TrimSpace(l); regexp.MustCompile(`^(ip|install|printf|rm|sysctl|modprobe|tc|awk) `).MatchString(c) {
				t.Errorf("npte %s --dry-run on a built lab runs: %s", strings.Join(args, " "), c)
			}
		}
	}
	for _, tc := range []struct {
		build, destroy []string
	}{
		{[]string{"lab", "create"}, []string{"lab", "destroy"}},
		{[]string{"lab", "apply", file}, []string{"lab", "destroy"}},
		{[]string{"lab", "create"}, []string{"lab", "destroy", "builtin"}},
		{[]string{"lab", "create", "--no-batch"}, []string{"lab", "destroy", file}},
	} {
		lbMust(t, 0, tc.build...)
		if !lbPing("client", "172.16.2.2") {
			t.Fatalf("after npte %s, client cannot ping the server", strings.Join(tc.build, " "))
		}
		converges("lab", "create")
		converges("lab", "apply", file)
		if r := lbMust(t, 0, "lab", "plan", file); !strings.Contains(r.stdout, "no changes") {
			t.Errorf("lab plan after npte %s: %s", strings.Join(tc.build, " "), r.stdout)
		}
		lbMust(t, 0, tc.destroy...)
		if left := lbLeftovers(); left != "" {
			t.Fatalf("npte %s after npte %s left: %s", strings.Join(tc.destroy, " "), strings.Join(tc.build, " "), left)
		}
		if out := sandbox.Run(t, "ip", "-o", "link", "show"); strings.Count(out, "\n") != 1 {
			t.Fatalf("host interfaces left:\n%s", out)
		}
	}
}

// TestLiveLabDestroyWithoutRecord: lab destroy (no argument) still removes
// a built-in lab that has no record (made by the hand-written form, as an
// older npte did, or a create killed before its record), and a lab create
// over it is refused before any change. With no record of its own, it
// refuses (exit 2, nothing changed) to touch client, router or server
// when another lab's record names them.
func TestLiveLabDestroyWithoutRecord(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	lcScript(t, lab.Create())
	before, _ := lcState(t)
	if r := lbNpte(t, nil, "lab", "create"); r.code != 2 || !strings.Contains(r.stderr, "npte: client: already exists") {
		t.Errorf("lab create over a lab with no record: exit %d\n%s", r.code, r.stderr)
	}
	if after, recs := lcState(t); after != before || recs != "" {
		t.Errorf("a refused lab create changed the state (records %q):\n%s", recs, lcDiff(before, after))
	}
	lbMust(t, 0, "lab", "destroy")
	if left := lbLeftovers(); left != "" {
		t.Fatalf("lab destroy of a lab with no record left: %s", left)
	}
	// Another lab owns client, router and server.
	other := filepath.Join(t.TempDir(), "other.yaml")
	if err := os.WriteFile(other, []byte("name: other\nnodes: {client: {}, router: {}, server: {}}\nlinks: [[client, router], [server, router]]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	lbMust(t, 0, "lab", "apply", other)
	before, recs := lcState(t)
	for _, args := range [][]string{{"lab", "destroy"}, {"lab", "destroy", "builtin"}, {"lab", "destroy", "--dry-run"}} {
		r := lbNpte(t, nil, args...)
		if r.code != 2 || r.stderr != "npte: client is a node of lab other, and the built-in lab has no record: use npte lab destroy other\n" {
			t.Errorf("npte %s with lab other applied: exit %d\n%s", strings.Join(args, " "), r.code, r.stderr)
		}
	}
	if after, recs2 := lcState(t); after != before || recs2 != recs {
		t.Errorf("a refused lab destroy changed the state:\n%s\nrecords:\n%s", lcDiff(before, after), lcDiff(recs, recs2))
	}
	if r := lbNpte(t, nil, "lab", "create"); r.code != 2 || !strings.Contains(r.stderr, "npte: client: already exists") {
		t.Errorf("lab create over lab other: exit %d\n%s", r.code, r.stderr)
	}
	lbMust(t, 0, "lab", "destroy", "other")
	if left := lbLeftovers(); left != "" {
		t.Fatalf("lab destroy other left: %s", left)
	}
}
