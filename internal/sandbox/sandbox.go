// Package sandbox runs live tests, the ones that change kernel state,
// inside a private mount and network namespace (unshare --mount --net
// --propagation private) with fresh tmpfs mounts on /run and /etc/netns.
// They never see or touch the machine's own namespaces, markers, firewall
// or interfaces. Without root, live tests skip and say why.
//
// A live test starts with:
//
//	if !sandbox.Enter(t) {
//		return // the test ran in a child process, inside the sandbox
//	}
//
// Enter re-executes the test binary for that one test inside the sandbox
// and reports the child's result; in the child it prepares the mounts and
// returns true.
package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
)

const envVar = "NPTE_TEST_SANDBOX"

// Inside reports whether this process is a sandbox child.
func Inside() bool { return os.Getenv(envVar) != "" }

// Enter runs the calling top-level test inside a sandbox. See the package
// documentation.
func Enter(t *testing.T) bool {
	t.Helper()
	if os.Getenv(envVar) == t.Name() {
		setup(t)
		return true
	}
	if os.Geteuid() != 0 {
		t.Skip("live test skipped: it needs root to build its private sandbox (unshare --mount --net); run make test as root, as CI does")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("live test skipped: unshare (util-linux) is not installed")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"--mount", "--net", "--propagation", "private", "--", self,
		"-test.run", "^" + regexp.QuoteMeta(t.Name()) + "$", "-test.count=1", "-test.v"}
	if d, ok := t.Deadline(); ok {
		_ = d // the parent's timeout covers the child
	}
	cmd := exec.Command(unshare, args...)
	if cmd.Env, err = ChildEnv(envVar + "=" + t.Name()); err != nil {
		t.Fatal(err)
	}
	// The child dies with this process (a test timeout, a Ctrl-C): no
	// orphaned sandbox keeps running. unshare execs the test binary, which
	// keeps the parent-death signal.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.CombinedOutput()
	text := string(out)
	if err != nil {
		t.Fatalf("sandboxed run of %s failed: %v\n%s", t.Name(), err, text)
	}
	if m := regexp.MustCompile(`(?m)^\s*--- SKIP: ` + regexp.QuoteMeta(t.Name()) + ` .*\n((?:\s+.*\n)*)`).FindStringSubmatch(text); m != nil {
		t.Skipf("skipped inside the sandbox:\n%s", m[1])
	}
	if !strings.Contains(text, "--- PASS: "+t.Name()) {
		t.Fatalf("sandboxed run of %s did not pass:\n%s", t.Name(), text)
	}
	// Forward the child's log lines (they carry measured figures).
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, "    ") {
			t.Log(strings.TrimSpace(l))
		}
	}
	return false
}

// parentNSVar carries the namespaces of the process that started a sandbox
// child (Enter), so that the child can prove it has others.
const parentNSVar = "NPTE_TEST_PARENT_NS"

// namespaces returns "mnt:[N] net:[M]" for the process whose /proc entry
// is dir ("self", "1").
func namespaces(dir string) (string, error) {
	var ids []string
	for _, ns := range []string{"mnt", "net"} {
		id, err := os.Readlink("/proc/" + dir + "/ns/" + ns)
		if err != nil {
			return "", err
		}
		ids = append(ids, id)
	}
	return strings.Join(ids, " "), nil
}

// Private returns nil only when this process runs in a mount namespace and
// a network namespace other than those of the process that started it
// through Enter and, where it can be read, of PID 1 (the machine's).
// Anything that mounts, writes state paths or changes kernel network state
// in a test calls it first: the environment variable that marks a sandbox
// child proves nothing by itself.
func Private() error {
	self, err := namespaces("self")
	if err != nil {
		return fmt.Errorf("sandbox: cannot read this process's namespaces: %v; refusing to change anything", err)
	}
	// Inside a private mount namespace /proc/1/ns is not readable; outside
	// it is (as root), and equal means the machine's own namespaces.
	if host, err := namespaces("1"); err == nil {
		for _, id := range strings.Fields(host) {
			if strings.Contains(self, id) {
				return fmt.Errorf("sandbox: this process shares the machine's namespace %s; refusing to change anything", id)
			}
		}
	}
	parent := os.Getenv(parentNSVar)
	if parent == "" {
		return fmt.Errorf("sandbox: not started by sandbox.Enter (%s unset); refusing to change anything", parentNSVar)
	}
	for _, id := range strings.Fields(parent) {
		if strings.Contains(self, id) {
			return fmt.Errorf("sandbox: this process shares its parent's namespace %s; refusing to change anything", id)
		}
	}
	return nil
}

// ChildEnv returns the environment for a process that unshare starts in
// a private sandbox: this process's, plus the record of its namespaces
// that Private checks against.
func ChildEnv(extra ...string) ([]string, error) {
	ns, err := namespaces("self")
	if err != nil {
		return nil, err
	}
	return append(append(os.Environ(), parentNSVar+"="+ns), extra...), nil
}

func setup(t *testing.T) {
	t.Helper()
	if err := Private(); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", "/run", "tmpfs", 0, "mode=0755"); err != nil {
		t.Fatalf("sandbox: mount tmpfs on /run: %v", err)
	}
	if err := os.MkdirAll("/etc/netns", 0o755); err != nil {
		t.Fatalf("sandbox: %v", err)
	}
	if err := syscall.Mount("tmpfs", "/etc/netns", "tmpfs", 0, "mode=0755"); err != nil {
		t.Fatalf("sandbox: mount tmpfs on /etc/netns: %v", err)
	}
	// Loopback of the sandbox's own namespace, for tests that use it.
	_ = exec.Command("ip", "link", "set", "dev", "lo", "up").Run()
}

// Run runs a command and fails the test if it fails; it returns stdout.
func Run(t *testing.T, name string, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// State is a comparable snapshot of everything npte can change: the kernel
// namespaces and, inside each, links, addresses, routes and qdiscs (from
// ip -j / tc -j, with volatile fields removed), the markers and intent
// records, and /etc/netns.
func State(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	names := listDir("/run/netns")
	fmt.Fprintf(&b, "netns: %v\n", names)
	fmt.Fprintf(&b, "markers: %v\n", listDir("/run/npte/netns"))
	fmt.Fprintf(&b, "intents: %v\n", listDir("/run/npte/intent"))
	var etc []string
	_ = filepath.Walk("/etc/netns", func(p string, fi os.FileInfo, err error) error {
		if err == nil && p != "/etc/netns" {
			data := ""
			if fi.Mode().IsRegular() {
				d, _ := os.ReadFile(p)
				data = " " + string(d)
			}
			etc = append(etc, fmt.Sprintf("%s %s%q", p, fi.Mode(), data))
		}
		return nil
	})
	fmt.Fprintf(&b, "etc: %v\n", etc)
	fmt.Fprintf(&b, "host links: %s\n", normalize(t, Run(t, "ip", "-j", "link", "show")))
	for _, n := range names {
		fmt.Fprintf(&b, "[%s]\n", n)
		fmt.Fprintf(&b, " link: %s\n", normalize(t, Run(t, "ip", "-n", n, "-j", "link", "show")))
		fmt.Fprintf(&b, " addr: %s\n", normalize(t, Run(t, "ip", "-n", n, "-j", "addr", "show")))
		fmt.Fprintf(&b, " route: %s\n", normalize(t, Run(t, "ip", "-n", n, "-j", "route", "show", "table", "all")))
		fmt.Fprintf(&b, " qdisc: %s\n", normalize(t, Run(t, "ip", "netns", "exec", n, "tc", "-j", "qdisc", "show")))
	}
	return b.String()
}

func listDir(dir string) []string {
	entries, _ := os.ReadDir(dir)
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

// volatile are JSON keys whose values differ between two identical setups.
var volatile = map[string]bool{
	"ifindex": true, "address": true, "link_index": true, "link_netnsid": true,
	"valid_life_time": true, "preferred_life_time": true, "stats": true, "stats64": true,
	"handle": false, "ifname": false, "netnsid": true, "broadcast": true, "perm_address": true,
}

func normalize(t *testing.T, js string) string {
	t.Helper()
	js = strings.TrimSpace(js)
	if js == "" {
		return "[]"
	}
	var v any
	if err := json.Unmarshal([]byte(js), &v); err != nil {
		return js
	}
	var walk func(any) any
	walk = func(x any) any {
		switch x := x.(type) {
		case map[string]any:
			for k := range x {
				if volatile[k] {
					delete(x, k)
				} else {
					x[k] = walk(x[k])
				}
			}
		case []any:
			for i := range x {
				x[i] = walk(x[i])
			}
		}
		return x
	}
	out, _ := json.Marshal(walk(v))
	return string(out)
}

// npteBuild is the npte binary built for this (sandbox child) process.
var npteBuild struct {
	once sync.Once
	path string
	err  error
}

// Npte returns the path of an npte binary built from this module, once per
// sandboxed test process. It lives under the sandbox's private /run, which
// vanishes with the sandbox, so nobody has to remove it. Only live tests
// (inside Enter) may call it.
func Npte(t testing.TB) string {
	t.Helper()
	if !Inside() {
		t.Fatal("sandbox.Npte is for live tests, inside sandbox.Enter")
	}
	npteBuild.once.Do(func() {
		npteBuild.path = "/run/npte-test-bin/npte"
		cmd := exec.Command("go", "build", "-o", npteBuild.path, "github.com/npte/npte")
		cmd.Env = append(os.Environ(), "GOPROXY=off") // the module cache is filled by now
		if out, err := cmd.CombinedOutput(); err != nil {
			npteBuild.err = fmt.Errorf("go build npte: %v\n%s", err, out)
		}
	})
	if npteBuild.err != nil {
		t.Fatal(npteBuild.err)
	}
	return npteBuild.path
}

// Shells are the POSIX shells that rendered scripts must run under, each
// as the argv that runs a script read on standard input (posh takes no -s): dash (Debian's
// sh), bash in POSIX mode, busybox sh, yash, posh and mksh (ksh family,
// where descriptors that exec opens are close-on-exec). All are Debian
// packages that .ci/run installs.
func Shells() [][]string {
	return [][]string{{"dash"}, {"bash", "--posix"}, {"busybox", "sh"}, {"yash"}, {"posh"}, {"mksh"}}
}
