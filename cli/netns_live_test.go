package cli_test

// Live tests of the netns verbs: each runs in its own private sandbox
// (internal/sandbox) as root, against a real npte binary, real iproute2 and
// a real dash. Without root they skip and say why.

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"

	"github.com/npte/npte/internal/sandbox"
)

// nsResult is one npte (or sh) process run.
type nsResult struct {
	stdout, stderr string
	code           int
}

func nsRunProc(t *testing.T, stdin string, name string, args ...string) nsResult {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("%s: %v", name, err)
	}
	return nsResult{stdout.String(), stderr.String(), code}
}

// nsMustNpte runs npte ARGS and fails the test unless it exits with want.
func nsMustNpte(t *testing.T, want int, args ...string) nsResult {
	t.Helper()
	r := nsRunProc(t, "", sandbox.Npte(t), args...)
	if r.code != want {
		t.Fatalf("npte %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, want, r.stdout, r.stderr)
	}
	return r
}

func nsIPNetnsList(t *testing.T) string {
	t.Helper()
	var names []string
	for _, l := range strings.Split(sandbox.Run(t, "ip", "netns", "list"), "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			names = append(names, f[0])
		}
	}
	sort.Strings(names)
	return strings.Join(names, " ")
}

func TestLiveCreateListDestroy(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	if r := nsMustNpte(t, 0, "netns", "list"); r.stdout != "" {
		t.Errorf("list before create: %q", r.stdout)
	}
	r := nsMustNpte(t, 0, "netns", "create", "demo")
	if !strings.Contains(r.stderr, "+ ip netns add demo\n") {
		t.Errorf("create did not echo its commands: %q", r.stderr)
	}
	if got := nsIPNetnsList(t); got != "demo" {
		t.Errorf("ip netns list: %q", got)
	}
	if fi, err := os.Lstat("/run/npte/netns/demo"); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("marker: %v %v", fi, err)
	}
	if e, _ := os.ReadDir("/run/npte/intent"); len(e) != 0 {
		t.Errorf("intent records left: %v", e)
	}
	if b, err := os.ReadFile("/etc/netns/demo/resolv.conf"); err != nil || string(b) != "nameserver 1.1.1.1\nnameserver 8.8.8.8\n" {
		t.Errorf("resolv.conf: %q %v", b, err)
	}
	if out := sandbox.Run(t, "ip", "-n", "demo", "link", "show", "dev", "lo"); !strings.Contains(out, "UP") {
		t.Errorf("lo is not up: %s", out)
	}
	for key, want := range map[string]string{
		"net.ipv4.ip_forward": "1",
		"net.ipv4.tcp_rmem":   "4096\t131072\t33554432",
		"net.ipv4.tcp_wmem":   "4096\t131072\t33554432",
	} {
		if got := strings.TrimSpace(sandbox.Run(t, "ip", "netns", "exec", "demo", "sysctl", "-n", key)); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	if r := nsMustNpte(t, 0, "netns", "list"); r.stdout != "demo\n" {
		t.Errorf("list: %q", r.stdout)
	}
	if r := nsMustNpte(t, 0, "netns", "list", "--json"); r.stdout != "[\"demo\"]\n" {
		t.Errorf("list --json: %q", r.stdout)
	}
	nsMustNpte(t, 0, "netns", "destroy", "demo")
	if got := nsIPNetnsList(t); got != "" {
		t.Errorf("ip netns list after destroy: %q", got)
	}
	for _, p := range []string{"/run/npte/netns/demo", "/etc/netns/demo"} {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left after destroy: %v", p, err)
		}
	}
	if r := nsMustNpte(t, 0, "netns", "list"); r.stdout != "" {
		t.Errorf("list after destroy: %q", r.stdout)
	}
}

// TestLiveRefusals: a namespace made with plain ip netns add, a symlinked
// marker, a second create and bad names are refused with exit 2, and the
// kernel and marker state stay exactly as they were.
func TestLiveRefusals(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	sandbox.Run(t, "ip", "netns", "add", "plain")
	nsMustNpte(t, 0, "netns", "create", "demo")
	sandbox.Run(t, "ip", "netns", "add", "evil")
	if err := os.WriteFile("/run/npte/target", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/run/npte/target", "/run/npte/netns/evil"); err != nil {
		t.Fatal(err)
	}
	before := sandbox.State(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"netns", "destroy", "plain"}, "plain: not managed by npte"},
		{[]string{"netns", "destroy", "evil"}, "refusing to follow it: /run/npte/netns/evil"},
		{[]string{"netns", "create", "demo"}, "demo: already exists"},
		{[]string{"netns", "create", "plain"}, "plain: already exists"},
		{[]string{"netns", "create", "evil"}, "evil: already exists"},
		{[]string{"netns", "create", "a;b"}, `invalid namespace name "a;b"`},
		{[]string{"netns", "destroy", "../x"}, `invalid namespace name "../x"`},
		{[]string{"netns", "destroy", "--", "-h"}, `invalid namespace name "-h"`},
		{[]string{"netns", "create", "abcdefghijklm"}, "at most 12"},
		{[]string{"netns", "create", ""}, "must not be empty"},
		{[]string{"netns", "create", "Bad"}, `"Bad"`},
		{[]string{"netns", "create", "1x"}, `"1x"`},
	} {
		r := nsMustNpte(t, 2, c.args...)
		if strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("npte %q: stderr %q, want one line with %q", c.args, r.stderr, c.want)
		}
		if after := sandbox.State(t); after != before {
			t.Fatalf("npte %q changed the state:\n--- before\n%s--- after\n%s", c.args, before, after)
		}
	}
	if got := nsIPNetnsList(t); got != "demo evil plain" {
		t.Errorf("ip netns list: %q", got)
	}
	if r := nsMustNpte(t, 0, "netns", "list"); r.stdout != "demo\n" {
		t.Errorf("list shows %q, want only demo", r.stdout)
	}
}

// TestLiveDryRunDash is the acceptance test: the dry-run script
// piped into a real sh as root creates what npte netns list shows and npte
// netns destroy removes.
func TestLiveDryRunDash(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	dash, err := exec.LookPath("dash")
	if err != nil {
		t.Skip("dash is not installed (.ci/run installs it)")
	}
	script := nsMustNpte(t, 0, "netns", "create", "--dry-run", "demo").stdout
	if r := nsRunProc(t, script, dash); r.code != 0 {
		t.Fatalf("dash: exit %d\n%s", r.code, r.stderr)
	}
	if r := nsMustNpte(t, 0, "netns", "list"); r.stdout != "demo\n" {
		t.Errorf("list after the script: %q", r.stdout)
	}
	// Running the same script again is refused by its own guard, with the
	// live exit code and nothing changed.
	before := sandbox.State(t)
	if r := nsRunProc(t, script, dash); r.code != 2 || !strings.Contains(r.stderr, "demo: already exists") {
		t.Errorf("second run of the script: exit %d, %q", r.code, r.stderr)
	}
	if after := sandbox.State(t); after != before {
		t.Errorf("second run of the script changed the state:\n%s\n%s", before, after)
	}
	nsMustNpte(t, 0, "netns", "destroy", "demo")
	if r := nsMustNpte(t, 0, "netns", "list"); r.stdout != "" {
		t.Errorf("list after destroy: %q", r.stdout)
	}
	if got := nsIPNetnsList(t); got != "" {
		t.Errorf("ip netns list after destroy: %q", got)
	}
}

// TestLiveDryRunMatchesLive compares, for create and destroy, the kernel
// state and markers left by a live run and by its dry-run script run in
// dash (sandbox.State: ip -j output of every namespace, markers, intents,
// /etc/netns).
func TestLiveDryRunMatchesLive(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	dash, err := exec.LookPath("dash")
	if err != nil {
		t.Skip("dash is not installed (.ci/run installs it)")
	}
	sh := func(args ...string) {
		t.Helper()
		script := nsMustNpte(t, 0, append(args, "--dry-run")...).stdout
		if r := nsRunProc(t, script, dash); r.code != 0 {
			t.Fatalf("dash, npte %v: exit %d\n%s", args, r.code, r.stderr)
		}
	}
	// sandbox.State plus the sysctls create sets inside each namespace.
	state := func() string {
		t.Helper()
		s := sandbox.State(t)
		for _, n := range strings.Fields(nsIPNetnsList(t)) {
			s += n + " sysctl: " + sandbox.Run(t, "ip", "netns", "exec", n, "sysctl", "net.ipv4.ip_forward", "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem")
		}
		return s
	}
	// A namespace that stays, so that destroy is compared with one left.
	nsMustNpte(t, 0, "netns", "create", "keep")
	empty := state()
	for _, args := range [][]string{
		{"netns", "create", "alpha"},
		{"netns", "create", "--dns", "192.0.2.53", "--dns", "2001:db8::53", "alpha"},
		{"netns", "create", "--dns", "", "alpha"},
	} {
		nsMustNpte(t, 0, args...)
		live := state()
		if !strings.Contains(live, "alpha sysctl: net.ipv4.ip_forward = 1\n") {
			t.Fatalf("the state does not show alpha's sysctls:\n%s", live)
		}
		nsMustNpte(t, 0, "netns", "destroy", "alpha")
		liveGone := state()
		if liveGone != empty {
			t.Fatalf("live destroy did not restore the state:\n--- before\n%s--- after\n%s", empty, liveGone)
		}
		sh(args...)
		script := state()
		if script != live {
			t.Errorf("npte %v: the script left another state than the live run:\n--- live\n%s--- script\n%s", args, live, script)
		}
		sh("netns", "destroy", "alpha")
		if got := state(); got != liveGone {
			t.Errorf("destroy: the script left another state than the live run:\n--- live\n%s--- script\n%s", liveGone, got)
		}
	}
}
