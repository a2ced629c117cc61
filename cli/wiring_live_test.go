package cli_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/npte/npte/internal/sandbox"
)

// wResult is one finished npte (or shell) process.
type wResult struct {
	stdout, stderr string
	code           int
}

// wRun runs the npte binary with env (on top of a fixed PATH) in dir
// (the current directory when empty).
func wRun(t *testing.T, env []string, dir string, args ...string) wResult {
	t.Helper()
	cmd := exec.Command(sandbox.Npte(t), args...)
	cmd.Env = append([]string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}, env...)
	cmd.Dir = dir
	return wFinish(t, cmd)
}

func wFinish(t *testing.T, cmd *exec.Cmd) wResult {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("%v: %v", cmd.Args, err)
	}
	return wResult{stdout.String(), stderr.String(), code}
}

// wOK runs npte and fails the test unless it exits 0.
func wOK(t *testing.T, args ...string) string {
	t.Helper()
	r := wRun(t, nil, "", args...)
	if r.code != 0 {
		t.Fatalf("npte %s: exit %d\n%s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

// wDash renders npte ARGS --dry-run and pipes the script into dash.
func wDash(t *testing.T, args ...string) {
	t.Helper()
	dry := append([]string{args[0], args[1], "--dry-run"}, args[2:]...)
	script := wOK(t, dry...)
	cmd := exec.Command("dash", "-s")
	cmd.Stdin = strings.NewReader(script)
	if r := wFinish(t, cmd); r.code != 0 {
		t.Fatalf("npte %s | dash: exit %d\n%s\n--- script\n%s", strings.Join(dry, " "), r.code, r.stderr, script)
	}
}

// wPing sends ONE echo request from namespace ns to addr, an address inside
// the test's own namespaces, and reports whether a reply came back.
func wPing(t *testing.T, ns, addr string) bool {
	t.Helper()
	cmd := exec.Command("ip", "netns", "exec", ns, "ping", "-n", "-q", "-c", "1", "-W", "2", addr)
	return cmd.Run() == nil
}

// wTutorialPair, wTutorialChain and wTutorialRoutes are the README's path,
// as npte argv: two namespaces, connected,
// addressed in both families; then the routed client/router/server chain.
var wTutorialPair = [][]string{
	{"netns", "create", "left"},
	{"netns", "create", "right"},
	{"netns", "connect", "left", "right"},
	{"netns", "assign-addr", "left", "if-right", "10.0.0.1/24"},
	{"netns", "assign-addr", "right", "if-left", "10.0.0.2/24"},
	{"netns", "assign-addr", "left", "if-right", "fd00::1/64"},
	{"netns", "assign-addr", "right", "if-left", "fd00::2/64"},
}

var wTutorialChain = [][]string{
	{"netns", "create", "client"},
	{"netns", "create", "router"},
	{"netns", "create", "server"},
	{"netns", "connect", "client", "router"},
	{"netns", "connect", "server", "router"},
	{"netns", "assign-addr", "client", "if-router", "172.16.3.2/24"},
	{"netns", "assign-addr", "router", "if-client", "172.16.3.1/24"},
	{"netns", "assign-addr", "server", "if-router", "172.16.2.2/24"},
	{"netns", "assign-addr", "router", "if-server", "172.16.2.1/24"},
	{"netns", "assign-addr", "client", "if-router", "fd00:3::2/64"},
	{"netns", "assign-addr", "router", "if-client", "fd00:3::1/64"},
	{"netns", "assign-addr", "server", "if-router", "fd00:2::2/64"},
	{"netns", "assign-addr", "router", "if-server", "fd00:2::1/64"},
}

var wTutorialRoutes = [][]string{
	{"netns", "add-route", "client", "default", "172.16.3.1"},
	{"netns", "add-route", "server", "default", "172.16.2.1"},
	{"netns", "add-route", "client", "default", "fd00:3::1"},
	{"netns", "add-route", "server", "default", "fd00:2::1"},
}

// The router forwards IPv6 only when told to; netns create sets only the
// IPv4 switch, so the chain's IPv6 half enables it by hand.
func wEnableIPv6Forwarding(t *testing.T, ns string) {
	t.Helper()
	sandbox.Run(t, "ip", "netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv6.conf.all.forwarding=1")
}

func TestLiveConnectPing(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	start := time.Now()
	for _, args := range wTutorialPair {
		wOK(t, args...)
	}
	t.Logf("pair built live in %v (%d npte runs)", time.Since(start).Round(time.Millisecond), len(wTutorialPair))
	for _, a := range []string{"10.0.0.2", "fd00::2"} {
		if !wPing(t, "left", a) {
			t.Errorf("left cannot ping %s", a)
		}
	}
	if !wPing(t, "right", "10.0.0.1") || !wPing(t, "right", "fd00::1") {
		t.Error("right cannot ping left")
	}
	// Nothing appeared on the host side.
	if links := sandbox.Run(t, "ip", "-o", "link", "show"); strings.Count(links, "\n") != 1 {
		t.Errorf("host links besides lo:\n%s", links)
	}
	// Connecting twice is refused before any change.
	before := sandbox.State(t)
	for _, pair := range [][2]string{{"left", "right"}, {"right", "left"}} {
		r := wRun(t, nil, "", "netns", "connect", pair[0], pair[1])
		if r.code != 2 || !strings.Contains(r.stderr, "already connected") {
			t.Errorf("second connect %v: exit %d: %s", pair, r.code, r.stderr)
		}
	}
	if after := sandbox.State(t); after != before {
		t.Errorf("a refused connect changed the state:\n%s\n---\n%s", before, after)
	}
	// Assigning an address twice is not an error; a missing interface is
	// refused.
	wOK(t, "netns", "assign-addr", "left", "if-right", "10.0.0.1/24")
	if r := wRun(t, nil, "", "netns", "assign-addr", "left", "if-nope", "10.0.1.1/24"); r.code != 2 || !strings.Contains(r.stderr, "has no interface if-nope") {
		t.Errorf("assign-addr to a missing interface: exit %d: %s", r.code, r.stderr)
	}

	// show: text sections, and JSON a script can read.
	text := wOK(t, "netns", "show", "left")
	for _, h := range []string{"=== link ===", "=== addr ===", "=== route ===", "=== route6 ===", "=== qdisc ===", "=== neigh ===", "=== sockets ===", "=== pids ==="} {
		if !strings.Contains(text, h+"\n") {
			t.Errorf("show lacks %q:\n%s", h, text)
		}
	}
	if !strings.Contains(text, "if-right@") || !strings.Contains(text, "10.0.0.1/24") || !strings.Contains(text, "fd00::1/64") {
		t.Errorf("show does not show the link and its addresses:\n%s", text)
	}
	js := wOK(t, "netns", "show", "--json", "left")
	var v struct {
		Link []struct {
			Ifname string `json:"ifname"`
		} `json:"link"`
		Addr []struct {
			Ifname   string `json:"ifname"`
			AddrInfo []struct {
				Local string `json:"local"`
			} `json:"addr_info"`
		} `json:"addr"`
		Route  []map[string]any `json:"route"`
		Route6 []map[string]any `json:"route6"`
		Qdisc  []map[string]any `json:"qdisc"`
		Neigh  []map[string]any `json:"neigh"`
		Pids   []int            `json:"pids"`
	}
	if err := json.Unmarshal([]byte(js), &v); err != nil {
		t.Fatalf("show --json: %v\n%s", err, js)
	}
	if len(v.Link) != 2 || v.Link[1].Ifname != "if-right" || len(v.Route) == 0 || len(v.Route6) == 0 || len(v.Qdisc) == 0 || len(v.Neigh) == 0 {
		t.Errorf("show --json: %+v\n%s", v, js)
	}
	var locals []string
	for _, a := range v.Addr {
		for _, i := range a.AddrInfo {
			locals = append(locals, i.Local)
		}
	}
	if j := strings.Join(locals, " "); !strings.Contains(j, "10.0.0.1") || !strings.Contains(j, "fd00::1") {
		t.Errorf("show --json addresses: %s", j)
	}
	one := wOK(t, "netns", "show", "--section", "route6", "--section", "route", "left")
	if !strings.HasPrefix(one, "=== route ===\n10.0.0.0/24 dev if-right") || !strings.Contains(one, "\n\n=== route6 ===\nfd00::/64 dev if-right") || strings.Contains(one, "=== link") {
		t.Errorf("show --section route6 --section route:\n%s", one)
	}
	if r := wRun(t, nil, "", "netns", "show", "--section", "bogus", "left"); r.code != 2 || !strings.Contains(r.stderr, "valid sections are link, addr") {
		t.Errorf("show --section bogus: exit %d: %s", r.code, r.stderr)
	}
	sandbox.Run(t, "ip", "netns", "add", "foreign")
	if r := wRun(t, nil, "", "netns", "show", "foreign"); r.code != 2 || r.stdout != "" {
		t.Errorf("show of a foreign namespace: exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
}

func TestLiveRoutedChain(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	for _, args := range wTutorialChain {
		wOK(t, args...)
	}
	wEnableIPv6Forwarding(t, "router")
	// Neighbours reach each other; the leaves do not, yet.
	for _, c := range [][2]string{{"client", "172.16.3.1"}, {"server", "172.16.2.1"}, {"client", "fd00:3::1"}, {"server", "fd00:2::1"}} {
		if !wPing(t, c[0], c[1]) {
			t.Errorf("%s cannot ping its router at %s", c[0], c[1])
		}
	}
	for _, c := range [][2]string{{"client", "172.16.2.2"}, {"client", "fd00:2::2"}, {"server", "172.16.3.2"}} {
		if wPing(t, c[0], c[1]) {
			t.Errorf("%s reaches %s before any route was added", c[0], c[1])
		}
	}
	for _, args := range wTutorialRoutes {
		wOK(t, args...)
	}
	for _, c := range [][2]string{{"client", "172.16.2.2"}, {"server", "172.16.3.2"}, {"client", "fd00:2::2"}, {"server", "fd00:3::2"}} {
		if !wPing(t, c[0], c[1]) {
			t.Errorf("%s cannot reach %s after add-route", c[0], c[1])
		}
	}
	// Adding a route again replaces it: not an error.
	wOK(t, "netns", "add-route", "client", "default", "172.16.3.1")
	// A route to a specific network, with --dev.
	wOK(t, "netns", "add-route", "--dev", "if-router", "client", "198.51.100.0/24", "172.16.3.1")
	if r := sandbox.Run(t, "ip", "-n", "client", "route", "show", "198.51.100.0/24"); !strings.Contains(r, "via 172.16.3.1 dev if-router") {
		t.Errorf("route: %q", r)
	}
}

// wLinkLocal matches IPv6 link-local addresses, derived from the random MAC
// addresses of veth ends, which differ between two identical builds.
var wLinkLocal = regexp.MustCompile(`fe80::[0-9a-f:]+`)

// wSettled waits until no IPv6 address is tentative in the namespaces (so
// that two snapshots of one topology compare equal), then snapshots it.
func wSettled(t *testing.T, names ...string) string {
	t.Helper()
	for i := 0; i < 100; i++ {
		busy := false
		for _, n := range names {
			if strings.TrimSpace(sandbox.Run(t, "ip", "-n", n, "-6", "addr", "show", "tentative")) != "" {
				busy = true
			}
		}
		if !busy {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	return wSortArrays(wLinkLocal.ReplaceAllString(sandbox.State(t), "fe80::X"))
}

// wSortArrays sorts the elements of the JSON array on each "KEY: [...]"
// line of a snapshot: with link-local addresses masked, the kernel's order
// of their routes (by address) is noise.
func wSortArrays(state string) string {
	lines := strings.Split(state, "\n")
	for i, l := range lines {
		k, v, ok := strings.Cut(l, ": ")
		if !ok || !strings.HasPrefix(v, "[") {
			continue
		}
		var elems []json.RawMessage
		if json.Unmarshal([]byte(v), &elems) != nil {
			continue
		}
		strs := make([]string, len(elems))
		for j, e := range elems {
			strs[j] = string(e)
		}
		sort.Strings(strs)
		lines[i] = k + ": [" + strings.Join(strs, ",") + "]"
	}
	return strings.Join(lines, "\n")
}

// TestLiveTutorialDryRun builds the tutorial twice, live and as
// `npte ... --dry-run | dash`, and compares the kernel state and markers.
func TestLiveTutorialDryRun(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	all := append(append(append([][]string{}, wTutorialPair...), wTutorialChain...), wTutorialRoutes...)
	names := []string{"left", "right", "client", "router", "server"}
	start := time.Now()
	for _, args := range all {
		wOK(t, args...)
	}
	live := wSettled(t, names...)
	t.Logf("tutorial live: %d npte runs in %v", len(all), time.Since(start).Round(time.Millisecond))
	for _, n := range names {
		wOK(t, "netns", "destroy", n)
	}
	if s := sandbox.State(t); !strings.Contains(s, "netns: []") || !strings.Contains(s, "markers: []") {
		t.Fatalf("destroy left state behind:\n%s", s)
	}
	start = time.Now()
	for _, args := range all {
		wDash(t, args...)
	}
	script := wSettled(t, names...)
	t.Logf("tutorial as dry-run | dash: %d scripts in %v", len(all), time.Since(start).Round(time.Millisecond))
	if live != script {
		t.Errorf("live and dry-run | dash differ:\n%s", wLineDiff(live, script))
	}
	if !wPing(t, "client", "172.16.2.2") || !wPing(t, "left", "fd00::2") {
		t.Error("the scripted tutorial does not carry traffic")
	}
}

// wLineDiff lists the lines of a and b that differ, by position.
func wLineDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out strings.Builder
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			out.WriteString("- " + x + "\n+ " + y + "\n")
		}
	}
	return out.String()
}

// TestLiveConnectVanished: the second namespace is deleted behind npte's
// back (its marker stays); connect fails at the atomic ip link add and
// leaves no interface anywhere, in particular none on the host side.
func TestLiveConnectVanished(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	wOK(t, "netns", "create", "a")
	wOK(t, "netns", "create", "b")
	sandbox.Run(t, "ip", "netns", "del", "b")
	r := wRun(t, nil, "", "netns", "connect", "a", "b")
	if r.code != 1 {
		t.Fatalf("connect to a vanished namespace: exit %d, want 1\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "ip link add name if-b netns a group 28272 type veth peer name if-a netns b group 28272") || !strings.Contains(r.stderr, "nothing was changed") {
		t.Errorf("the failure does not name the step or say nothing changed:\n%s", r.stderr)
	}
	if links := sandbox.Run(t, "ip", "-o", "link", "show"); strings.Count(links, "\n") != 1 || !strings.Contains(links, "lo:") {
		t.Errorf("stray interface on the host side:\n%s", links)
	}
	if links := sandbox.Run(t, "ip", "-n", "a", "-o", "link", "show"); strings.Count(links, "\n") != 1 {
		t.Errorf("stray interface in a:\n%s", links)
	}
	// The dry-run script fails the same way, and cleanly.
	script := wOK(t, "netns", "connect", "--dry-run", "a", "b")
	cmd := exec.Command("dash", "-s")
	cmd.Stdin = strings.NewReader(script)
	if r := wFinish(t, cmd); r.code == 0 {
		t.Errorf("the script succeeded")
	}
	if links := sandbox.Run(t, "ip", "-o", "link", "show"); strings.Count(links, "\n") != 1 {
		t.Errorf("stray interface on the host side after the script:\n%s", links)
	}
	// destroy still cleans up the half-gone namespace's marker.
	wOK(t, "netns", "destroy", "b")
	if names := wOK(t, "netns", "list"); names != "a\n" {
		t.Errorf("list = %q", names)
	}
}

// wThrowawayUser adds a user to private copies of /etc/passwd, group and
// shadow that are bind-mounted over the real files inside the sandbox's
// mount namespace only; the host's files are never written.
func wThrowawayUser(t *testing.T, name string) (uid int, home string) {
	t.Helper()
	if !sandbox.Inside() {
		t.Fatal("throwawayUser must only run inside the sandbox")
	}
	if _, err := exec.LookPath("useradd"); err != nil {
		t.Skip("useradd (passwd) is not installed")
	}
	prefix := t.TempDir()
	if err := os.Mkdir(filepath.Join(prefix, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	files := []string{"passwd", "group", "shadow", "gshadow"}
	for _, f := range append(files, "login.defs") {
		data, err := os.ReadFile("/etc/" + f)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(prefix, "etc", f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	home = "/home/" + name
	sandbox.Run(t, "useradd", "--prefix", prefix, "-M", "-d", home, "-s", "/bin/sh", name)
	for _, f := range files {
		src := filepath.Join(prefix, "etc", f)
		if _, err := os.Stat(src); err != nil {
			continue
		}
		if err := os.Chmod(src, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Mount(src, "/etc/"+f, "", syscall.MS_BIND, ""); err != nil {
			t.Fatalf("bind-mount a private /etc/%s: %v", f, err)
		}
		// Unmount before t.TempDir's cleanup (cleanups run last-in,
		// first-out), so that nothing is ever removed through a mount.
		t.Cleanup(func() { _ = syscall.Unmount("/etc/"+f, syscall.MNT_DETACH) })
	}
	out := strings.TrimSpace(sandbox.Run(t, "id", "-u", name))
	uid, err := strconv.Atoi(out)
	if err != nil || uid == 0 {
		t.Fatalf("id -u %s = %q", name, out)
	}
	return uid, home
}

// wUserDir makes a directory the user owns, reachable through world-
// searchable parents and outside /tmp (which --sandbox replaces), and
// removes it at the end of the test.
func wUserDir(t *testing.T, uid int) string {
	t.Helper()
	dir, err := os.MkdirTemp("/var/tmp", "npte-run-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, uid, uid); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestLiveRun(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	uid, home := wThrowawayUser(t, "npteuser")
	wOK(t, "netns", "create", "--dns", "192.0.2.53", "lab")
	wOK(t, "netns", "create", "other")
	wOK(t, "netns", "connect", "lab", "other")
	sudo := []string{"SUDO_USER=npteuser", "TERM=dumb"}

	r := wRun(t, sudo, "", "netns", "run", "lab", "--", "id", "-u")
	if r.code != 0 || strings.TrimSpace(r.stdout) != strconv.Itoa(uid) {
		t.Fatalf("id -u: exit %d, stdout %q, want %d\n%s", r.code, r.stdout, uid, r.stderr)
	}
	// The command sees the namespace's links and resolv.conf, and only the
	// minimal environment plus the -e pairs.
	r = wRun(t, sudo, "", "netns", "run", "-e", "A=B=C", "-e", "LIST=x,y", "-e", "Q=it's $(not) #run", "lab", "--",
		"sh", "-c", `ip -o link show | cut -d: -f2; cat /etc/resolv.conf; env | sort`)
	want := []string{" lo", " if-other@if2", "nameserver 192.0.2.53", "A=B=C", "HOME=" + home, "LIST=x,y", "LOGNAME=npteuser",
		"PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin", "Q=it's $(not) #run", "TERM=dumb", "USER=npteuser"}
	got := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
	var kept []string
	for _, l := range got {
		if l != "PWD="+wGetwd(t) && l != "SHLVL=1" && l != "_=/usr/bin/env" && !strings.HasPrefix(l, "OLDPWD=") {
			kept = append(kept, l)
		}
	}
	if r.code != 0 || strings.Join(kept, "\n") != strings.Join(want, "\n") {
		t.Errorf("exit %d\n got %q\nwant %q\n%s", r.code, kept, want, r.stderr)
	}
	// The exit status passes through, as does a death by signal.
	for _, c := range []struct {
		script string
		code   int
	}{{"exit 0", 0}, {"exit 7", 7}, {"exit 255", 255}, {"kill -TERM $$", 143}} {
		if r := wRun(t, sudo, "", "netns", "run", "lab", "--", "sh", "-c", c.script); r.code != c.code {
			t.Errorf("sh -c %q: exit %d, want %d\n%s", c.script, r.code, c.code, r.stderr)
		}
	}
	// Ctrl-C: TestLiveRunCtrlC.
	// stdin passes through.
	cmd := exec.Command(sandbox.Npte(t), "netns", "run", "lab", "--", "tr", "a-z", "A-Z")
	cmd.Env = append([]string{"PATH=/usr/bin:/bin"}, sudo...)
	cmd.Stdin = strings.NewReader("hello\n")
	if r := wFinish(t, cmd); r.code != 0 || r.stdout != "HELLO\n" {
		t.Errorf("stdin: exit %d, stdout %q", r.code, r.stdout)
	}
	// Refusals: no SUDO_USER, root, an unknown user, an unmanaged namespace.
	sandbox.Run(t, "ip", "netns", "add", "foreign")
	for _, c := range []struct {
		env  []string
		ns   string
		want string
	}{
		{nil, "lab", "$SUDO_USER is not set"},
		{[]string{"SUDO_USER="}, "lab", "$SUDO_USER is not set"},
		{[]string{"SUDO_USER=root"}, "lab", "never runs a command as root"},
		{[]string{"SUDO_USER=nobodyhere"}, "lab", "no such user"},
		{sudo, "foreign", "not managed by npte"},
	} {
		r := wRun(t, c.env, "", "netns", "run", c.ns, "--", "id", "-u")
		if r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, c.want) {
			t.Errorf("env %q ns %s: exit %d, stdout %q, stderr %q; want exit 2 and %q", c.env, c.ns, r.code, r.stdout, r.stderr, c.want)
		}
	}
	// The dry-run script does the same as the live run, down to command
	// words that are not UTF-8 (which mvdan's interp cannot check).
	odd := []string{"caf\xe9 \xff", "it's \"$(x)\" #", "two\nlines"}
	show := `echo "$(id -u) $X"; for a; do printf %s "$a" | od -An -tx1; done; exit 4`
	script := wRun(t, sudo, "", append([]string{"netns", "run", "--dry-run", "-e", "X=1", "lab", "--", "sh", "-c", show, "sh"}, odd...)...)
	dash := exec.Command("dash", "-s")
	dash.Stdin = strings.NewReader(script.stdout)
	fromScript := wFinish(t, dash)
	live := wRun(t, sudo, "", append([]string{"netns", "run", "-e", "X=1", "lab", "--", "sh", "-c", show, "sh"}, odd...)...)
	if fromScript.code != 4 || live.code != 4 || fromScript.stdout != live.stdout || !strings.HasPrefix(live.stdout, strconv.Itoa(uid)+" 1\n 63 61 66 e9 20 ff\n") {
		t.Errorf("dry-run | dash: exit %d, stdout %q, stderr %q\nlive: exit %d, stdout %q", fromScript.code, fromScript.stdout, fromScript.stderr, live.code, live.stdout)
	}

	// The lock is released before the command starts: a long command does
	// not block another npte.
	long := exec.Command(sandbox.Npte(t), "netns", "run", "lab", "--", "sleep", "30")
	long.Env = append([]string{"PATH=/usr/bin:/bin"}, sudo...)
	if err := long.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = long.Process.Kill()
		_ = long.Wait()
		// sleep itself is a child of runuser; it dies with the namespace's
		// processes when the sandbox goes, but do not wait for that.
		for _, p := range strings.Fields(sandbox.Run(t, "ip", "netns", "pids", "lab")) {
			if pid, err := strconv.Atoi(p); err == nil {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}()
	time.Sleep(300 * time.Millisecond)
	done := make(chan wResult, 1)
	go func() { done <- wRun(t, nil, "", "netns", "create", "third") }()
	select {
	case r := <-done:
		if r.code != 0 {
			t.Errorf("create while run holds a command: exit %d: %s", r.code, r.stderr)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("create blocked while netns run's command was running: the lock was not released")
	}
}

func wGetwd(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return wd
}

func TestLiveRunSandbox(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	if _, err := exec.LookPath("bwrap"); err != nil {
		t.Skip("bwrap (bubblewrap) is not installed")
	}
	uid, _ := wThrowawayUser(t, "npteuser")
	wOK(t, "netns", "create", "lab")
	work := wUserDir(t, uid)
	other := wUserDir(t, uid) // writable by the user, but not the working directory
	sudo := []string{"SUDO_USER=npteuser"}
	tmpMark := filepath.Join("/tmp", "npte-sandbox-"+strconv.Itoa(os.Getpid()))
	t.Cleanup(func() { os.Remove(tmpMark) })

	r := wRun(t, sudo, work, "netns", "run", "--sandbox", "-e", "OTHER="+other, "-e", "MARK="+tmpMark, "lab", "--", "sh", "-c", `
		id -u
		pwd
		echo ok > in-cwd && echo wrote-cwd
		echo ok > "$MARK" && echo wrote-tmp
		echo no > "$OTHER/outside" 2>/dev/null || echo blocked-other
		echo no > /var/tmp/npte-outside 2>/dev/null || echo blocked-var
		test "$(cat /proc/1/comm)" = bwrap && echo own-pids
		ip -o link show | wc -l`)
	want := strings.Join([]string{strconv.Itoa(uid), work, "wrote-cwd", "wrote-tmp", "blocked-other", "blocked-var", "own-pids", "1"}, "\n") + "\n"
	if r.code != 0 || r.stdout != want {
		t.Errorf("exit %d\n got %q\nwant %q\n%s", r.code, r.stdout, want, r.stderr)
	}
	if data, err := os.ReadFile(filepath.Join(work, "in-cwd")); err != nil || string(data) != "ok\n" {
		t.Errorf("the write in the working directory did not land: %v %q", err, data)
	}
	if _, err := os.Stat(filepath.Join(other, "outside")); err == nil {
		t.Error("the sandbox wrote outside its working directory")
	}
	if _, err := os.Stat(tmpMark); err == nil {
		t.Error("the sandbox's /tmp is not private")
	}
	// The exit status still passes through bwrap.
	if r := wRun(t, sudo, work, "netns", "run", "--sandbox", "lab", "--", "sh", "-c", "exit 9"); r.code != 9 {
		t.Errorf("exit through bwrap: %d, want 9\n%s", r.code, r.stderr)
	}
	// A working directory of / would make everything writable: refused.
	if r := wRun(t, sudo, "/", "netns", "run", "--sandbox", "lab", "--", "true"); r.code != 2 {
		t.Errorf("--sandbox in /: exit %d, want 2", r.code)
	}
}
