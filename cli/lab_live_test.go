package cli_test

// Live tests of the lab verbs, each in its own private sandbox
// (internal/sandbox), as root, with real iproute2. npte runs in process
// (cli.Main with the real environment), so that a test can stop a plan
// half-way through cli.Env.BeforeStep and Signals. Traffic flows only
// between the lab's own namespaces.

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/npte/npte/cli"
	"github.com/npte/npte/internal/sandbox"
)

// lbResult is one in-process npte run.
type lbResult struct {
	stdout, stderr string
	code           int
}

// lbNpte runs npte ARGS in process, live, with the real environment;
// beforeStep (may be nil) is handed to the executor with a signal channel
// it can use to interrupt the plan.
func lbNpte(t *testing.T, beforeStep func(index int, sigs chan os.Signal), args ...string) lbResult {
	t.Helper()
	env := cli.DefaultEnv("test")
	var stdout, stderr bytes.Buffer
	env.Args, env.Stdout, env.Stderr, env.Color = args, &stdout, &stderr, false
	env.Stdin = strings.NewReader("")
	sigs := make(chan os.Signal, 4)
	env.Signals = sigs
	if beforeStep != nil {
		env.BeforeStep = func(i int) { beforeStep(i, sigs) }
	}
	code := cli.Main(env)
	return lbResult{stdout.String(), stderr.String(), code}
}

func lbMust(t *testing.T, want int, args ...string) lbResult {
	t.Helper()
	r := lbNpte(t, nil, args...)
	if r.code != want {
		t.Fatalf("npte %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, want, r.stdout, r.stderr)
	}
	return r
}

func lbList(dir string) []string {
	entries, _ := os.ReadDir(dir)
	out := []string{}
	for _, e := range entries {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

// lbLeftovers describes what npte state is left (namespaces, markers,
// intent records, /etc/netns entries, lab records), ignoring the names in
// keep.
func lbLeftovers(keep ...string) string {
	k := map[string]bool{}
	for _, n := range keep {
		k[n] = true
	}
	var left []string
	for _, d := range []string{"/run/netns", "/run/npte/netns", "/run/npte/intent", "/etc/netns", "/run/npte/lab"} {
		for _, n := range lbList(d) {
			if !(d == "/run/netns" && k[n]) {
				left = append(left, filepath.Join(d, n))
			}
		}
	}
	return strings.Join(left, " ")
}

// lbPing sends one echo request from ns to addr (a lab address).
func lbPing(ns, addr string) bool {
	return exec.Command("ip", "netns", "exec", ns, "ping", "-n", "-q", "-c", "1", "-W", "2", addr).Run() == nil
}

func TestLiveLabCreatePingDestroy(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	r := lbMust(t, 0, "lab", "create")
	if !strings.Contains(r.stderr, "lab builtin applied: 11 added") {
		t.Errorf("no summary: %s", r.stderr)
	}
	if got := strings.Join(lbList("/run/npte/netns"), " "); got != "client router server" {
		t.Errorf("markers: %q", got)
	}
	if got := strings.Join(lbList("/run/npte/lab/builtin"), " "); got != "digest lab.json" {
		t.Errorf("lab record: %q", got)
	}
	if !lbPing("client", "172.16.2.2") {
		t.Fatal("client cannot ping the server across the router")
	}
	if !lbPing("server", "172.16.3.2") {
		t.Error("server cannot ping the client")
	}
	// The route really goes through the router: with forwarding off there,
	// the ping fails.
	sandbox.Run(t, "ip", "netns", "exec", "router", "sysctl", "-q", "-w", "net.ipv4.ip_forward=0")
	if lbPing("client", "172.16.2.2") {
		t.Error("ping crossed a router that does not forward")
	}
	sandbox.Run(t, "ip", "netns", "exec", "router", "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
	// A second create converges, as apply does: no change, exit 0.
	before := sandbox.State(t)
	if r := lbNpte(t, nil, "lab", "create"); r.code != 0 || !strings.Contains(r.stderr, "lab builtin: no changes") {
		t.Errorf("second create: exit %d: %s", r.code, r.stderr)
	}
	if after := sandbox.State(t); after != before {
		t.Errorf("a second create changed the state:\n%s\n---\n%s", before, after)
	}
	lbMust(t, 0, "lab", "destroy")
	if left := lbLeftovers(); left != "" {
		t.Errorf("lab destroy left: %s", left)
	}
	if out := sandbox.Run(t, "ip", "-o", "link", "show"); strings.Count(out, "\n") != 1 {
		t.Errorf("host interfaces left:\n%s", out)
	}
	// Destroying no lab succeeds and says what it skipped.
	if r := lbMust(t, 0, "lab", "destroy"); !strings.Contains(r.stderr, "client: not managed by npte, skipped") {
		t.Errorf("destroy of no lab: %s", r.stderr)
	}
}

// The dry-run scripts, run by dash, build and remove the same lab.
func TestLiveLabDryRunDash(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	dash := func(args ...string) {
		t.Helper()
		r := lbMust(t, 0, append(args, "--dry-run")...)
		cmd := exec.Command("dash", "-s")
		cmd.Stdin = strings.NewReader(r.stdout)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npte %s --dry-run | dash: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	dash("lab", "create")
	if !lbPing("client", "172.16.2.2") {
		t.Fatal("client cannot ping the server after the dry-run script")
	}
	scripted := lbState(t)
	dash("lab", "destroy")
	if left := lbLeftovers(); left != "" {
		t.Errorf("scripted destroy left: %s", left)
	}
	lbMust(t, 0, "lab", "create")
	if live := lbState(t); live != scripted {
		t.Errorf("script and live run differ:\n--- script\n%s\n--- live\n%s", scripted, live)
	}
	lbMust(t, 0, "lab", "destroy")
}

// lbState is sandbox.State without what differs between two identical
// runs: IPv6 link-local addresses (from random MAC addresses), their
// duplicate address detection state, and the order of JSON arrays (the
// kernel lists routes of equal rank in creation order).
func lbState(t *testing.T) string {
	s := sandbox.State(t)
	s = regexp.MustCompile(`fe80::[0-9a-f:]+`).ReplaceAllString(s, "fe80::X")
	s = strings.ReplaceAll(s, `,"tentative":true`, "")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		head, js, ok := strings.Cut(l, ": [")
		var arr []json.RawMessage
		if !ok || json.Unmarshal([]byte("["+js), &arr) != nil {
			continue
		}
		elems := make([]string, len(arr))
		for j, e := range arr {
			elems[j] = string(e)
		}
		sort.Strings(elems)
		lines[i] = head + ": [" + strings.Join(elems, ",") + "]"
	}
	return strings.Join(lines, "\n")
}

// A lab create over a foreign namespace named server is refused before
// any change (exit 2, nothing made); lab destroy then skips the foreign
// namespace and leaves it alone.
func TestLiveLabHalfWayForeign(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	sandbox.Run(t, "ip", "netns", "add", "server")
	r := lbNpte(t, nil, "lab", "create")
	if r.code != 2 || !strings.Contains(r.stderr, "server: already exists") || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Fatalf("create over a foreign server: exit %d\n%s", r.code, r.stderr)
	}
	if got := strings.Join(lbList("/run/npte/netns"), " "); got != "" {
		t.Errorf("markers after the refusal: %q", got)
	}
	if got := strings.Join(lbList("/run/netns"), " "); got != "server" {
		t.Errorf("namespaces after the refusal: %q", got)
	}
	r = lbMust(t, 0, "lab", "destroy")
	if !strings.Contains(r.stderr, "server: not managed by npte, skipped") {
		t.Errorf("destroy did not say it skipped server: %s", r.stderr)
	}
	if left := lbLeftovers("server"); left != "" {
		t.Errorf("lab destroy left: %s", left)
	}
	if got := strings.Join(lbList("/run/netns"), " "); got != "server" {
		t.Errorf("the foreign namespace was touched: %q", got)
	}
}

// A lab create interrupted before each of its steps in turn (SIGINT
// through the executor's signal channel) leaves a state that lab destroy
// cleans completely.
func TestLiveLabInterruptedEverywhere(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	// Count the steps: an uninterrupted run reports none, so count calls.
	total := 0
	lbNpte(t, func(i int, _ chan os.Signal) { total = i }, "lab", "create")
	lbMust(t, 0, "lab", "destroy")
	if total < 12 { // batched (the default): 13 steps; --no-batch: 60
		t.Fatalf("lab create has %d steps?", total)
	}
	stopped := 0
	for k := 1; k < total; k++ {
		r := lbNpte(t, func(i int, sigs chan os.Signal) {
			if i == k {
				sigs <- syscall.SIGINT
			}
		}, "lab", "create")
		switch r.code {
		case 130:
			stopped++
		case 0:
			t.Fatalf("interrupt before step %d: create finished anyway", k+1)
		default:
			t.Fatalf("interrupt before step %d: exit %d: %s", k+1, r.code, r.stderr)
		}
		if d := lbNpte(t, nil, "lab", "destroy"); d.code != 0 {
			t.Fatalf("destroy after an interrupt before step %d/%d: exit %d\n%s", k+1, total, d.code, d.stderr)
		}
		if left := lbLeftovers(); left != "" {
			t.Fatalf("destroy after an interrupt before step %d/%d left: %s", k+1, total, left)
		}
		if out := sandbox.Run(t, "ip", "-o", "link", "show"); strings.Count(out, "\n") != 1 {
			t.Fatalf("host interfaces left after step %d:\n%s", k+1, out)
		}
	}
	t.Logf("lab create interrupted before each of steps 2..%d (%d runs); lab destroy cleaned every one", total, stopped)
}
