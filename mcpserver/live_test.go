package mcpserver_test

import (
	"context"
	"os"
	osexec "os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/npte/npte/internal/sandbox"
	"github.com/npte/npte/mcpserver"
	"github.com/npte/npte/mcpserver/mcpservertest"
)

// liveSudo stands in for sudo inside the sandbox, where the test is
// already root: it insists on -n and an absolute npte path, then runs npte
// as sudo would, with SUDO_USER naming the unprivileged user the session
// stands for (nobody), so that netns run drops to nobody.
const liveSudo = `#!/bin/sh
[ "$1" = -n ] || { echo "fake sudo: -n missing" >&2; exit 99; }
shift
case "$1" in /*) ;; *) echo "fake sudo: npte path not absolute: $1" >&2; exit 99;; esac
# The lab files this root-run server writes are root's; npte reads a lab
# file with SUDO_USER's rights, as sudo from the server's own user would
# (TestLiveMCPRealSudo runs that, as nobody). So lab verbs go as root's.
case "$2" in lab) exec "$@";; esac
exec env SUDO_USER=nobody SUDO_UID=65534 SUDO_GID=65534 "$@"
`

// TestLiveMCP drives the real npte binary (built here) through the MCP
// tools inside the sandbox: the built-in lab, netns_list, netns_show,
// netem_apply/show/clear, an iperf3 server started with netns_run, read
// and stopped, an iperf3 client through the shaped router, doctor; and
// the lab-file tools when the binary has 'lab check'.
//
// What differs from production: the server runs in this test process, as
// root (npte mcp serve itself refuses root; TestMcpServeRefusesRoot), and
// sudo is liveSudo above, since the sandbox has no sudoers grant to use.
// Everything after sudo is the real npte, as root, with SUDO_USER=nobody.
func TestLiveMCP(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	bin := t.TempDir()
	npte := filepath.Join(bin, "npte")
	if out, err := osexec.Command("go", "build", "-o", npte, "github.com/npte/npte").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	sudo := filepath.Join(bin, "sudo")
	if err := os.WriteFile(sudo, []byte(liveSudo), 0o755); err != nil {
		t.Fatal(err)
	}
	direct := func(args ...string) string {
		out, err := osexec.Command(npte, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("npte %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	direct("lab", "create")
	defer direct("lab", "destroy")

	h := mcpservertest.New(t, mcpservertest.Options{Sudo: sudo, Npte: npte, Dir: workDir(t),
		Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}})
	exercise(t, &mcpservertest.Harness{Session: h.Session}, sudo, npte)
}

// exercise drives every tool through the client session of h against the
// built-in lab (made by the caller), checking that privileged calls ran
// as sudo -n NPTE.
func exercise(t *testing.T, h *mcpservertest.Harness, sudo, npte string) {
	ok := func(tool string, args any) mcpserver.Result {
		t.Helper()
		res := h.Call(t, tool, args)
		var r mcpserver.Result
		mcpservertest.Decode(t, res, &r)
		if res.IsError || r.ExitCode != 0 {
			t.Fatalf("%s %v: %s", tool, args, mcpservertest.Text(res))
		}
		want := []string{sudo, "-n", npte}
		if tool == "doctor" || tool == "lab_check" {
			want = []string{npte} // changes nothing: no sudo
		}
		if !slicesHasPrefix(r.Argv, want) {
			t.Errorf("%s: argv %q", tool, r.Argv)
		}
		return r
	}

	if r := ok("netns_list", nil); strings.TrimSpace(r.Stdout) != `["client","router","server"]` {
		t.Errorf("netns_list: %q", r.Stdout)
	}
	if r := ok("netns_show", map[string]any{"netns": "client", "sections": []string{"addr"}, "json": true}); !strings.Contains(r.Stdout, "172.16.3.2") {
		t.Errorf("netns_show client addr: %s", r.Stdout)
	}
	// A namespace npte did not make: npte refuses it (exit 2), through sudo.
	res := h.Call(t, "netns_show", map[string]any{"netns": "nothere"})
	var r mcpserver.Result
	mcpservertest.Decode(t, res, &r)
	if !res.IsError || r.ExitCode != 2 || !strings.Contains(r.Stderr, "not managed by npte") {
		t.Errorf("netns_show nothere: %s", mcpservertest.Text(res))
	}

	// A rate alone is a tbf: this works on kernels without sch_netem
	// (the netem path itself is tested live in ./kerneltest).
	ok("netem_apply", map[string]any{"netns": "router", "iface": "if-server", "rate": "50mbit"})
	if r := ok("netem_show", map[string]any{"netns": "router", "iface": "if-server"}); !strings.Contains(r.Stdout, "50mbit") {
		t.Errorf("netem_show after apply: %s", r.Stdout)
	}

	// A long-running server, then a client through the shaped router.
	var srv mcpserver.RunStatus
	mcpservertest.Decode(t, h.Call(t, "netns_run", map[string]any{"netns": "server", "wait_seconds": 1,
		"argv": []string{"iperf3", "-s", "-p", "5201"}}), &srv)
	if !srv.Running {
		t.Fatalf("iperf3 -s is not running: %+v", srv)
	}
	var cl mcpserver.RunStatus
	for try := 0; try < 20; try++ {
		mcpservertest.Decode(t, h.Call(t, "netns_run", map[string]any{"netns": "client", "wait_seconds": 60,
			"argv": []string{"iperf3", "-c", "172.16.2.2", "-p", "5201", "-t", "1"}}), &cl)
		if cl.ExitCode != nil && *cl.ExitCode == 0 {
			break
		}
		time.Sleep(250 * time.Millisecond) // the server may not listen yet
	}
	if cl.ExitCode == nil || *cl.ExitCode != 0 || !strings.Contains(cl.Stdout, "receiver") {
		t.Fatalf("iperf3 client: %+v", cl)
	}
	if !strings.Contains(strings.Join(cl.Argv, " "), "netns run --sandbox -- client iperf3") {
		t.Errorf("client argv: %q", cl.Argv)
	}
	mcpservertest.Decode(t, h.Call(t, "netns_run_output", map[string]any{"id": srv.ID}), &srv)
	if !srv.Running || !strings.Contains(srv.Stdout, "Server listening") {
		t.Errorf("iperf3 server output: %+v", srv)
	}
	mcpservertest.Decode(t, h.Call(t, "netns_run_stop", map[string]any{"id": srv.ID}), &srv)
	if srv.Running {
		t.Errorf("iperf3 -s still running after netns_run_stop: %+v", srv)
	}
	// The process netns_run waited for is runuser; bwrap and iperf3 below
	// it die with it (--die-with-parent), a moment later.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		out, _ := osexec.Command("ip", "netns", "pids", "server").Output()
		if strings.TrimSpace(string(out)) == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("processes left in server after stop: %s", out)
			break
		}
	}

	ok("netem_clear", map[string]any{"netns": "router", "iface": "if-server"})
	if r := ok("netem_show", map[string]any{"netns": "router", "iface": "if-server"}); strings.Contains(r.Stdout, "50mbit") {
		t.Errorf("netem_show after clear: %s", r.Stdout)
	}

	res = h.Call(t, "doctor", nil)
	mcpservertest.Decode(t, res, &r)
	if len(r.Argv) != 2 || r.Argv[0] != npte || r.Argv[1] != "doctor" || !strings.Contains(r.Stdout, "ifb") {
		t.Errorf("doctor: %s", mcpservertest.Text(res))
	}

	// The lab-file verbs (issue 13) when this npte has them.
	if osexec.Command(npte, "lab", "check", "--help").Run() != nil {
		t.Log("this npte has no 'lab check' (issue 13 not merged): lab_check/plan/apply/destroy/show not run live")
		return
	}
	const file = "name: mcplab\nnodes:\n  ma: {}\n  mb: {}\nlinks:\n  - [ma, mb]\n"
	ok("lab_check", map[string]any{"file": file})
	res = h.Call(t, "lab_plan", map[string]any{"file": file})
	var plan mcpserver.PlanResult
	mcpservertest.Decode(t, res, &plan)
	if res.IsError || !strings.HasPrefix(plan.Script.Stdout, "#!/bin/sh") || !strings.HasPrefix(strings.TrimSpace(plan.Plan.Stdout), "{") {
		t.Errorf("lab_plan: %s", mcpservertest.Text(res))
	}
	ok("lab_apply", map[string]any{"file": file})
	if r := ok("netns_list", nil); !strings.Contains(r.Stdout, `"ma"`) || !strings.Contains(r.Stdout, `"mb"`) {
		t.Errorf("netns_list after lab_apply: %s", r.Stdout)
	}
	if r := ok("lab_show", map[string]any{"name": "mcplab"}); !strings.Contains(r.Stdout, "mcplab") {
		t.Errorf("lab_show: %s", r.Stdout)
	}
	ok("lab_destroy", map[string]any{"name": "mcplab"})
	if r := ok("netns_list", nil); strings.Contains(r.Stdout, `"ma"`) {
		t.Errorf("netns_list after lab_destroy: %s", r.Stdout)
	}
}

// workDir is a working directory for the server and its children that
// netns run --sandbox accepts (not under /tmp or /run) and that nobody
// can enter: a new directory under /var/tmp, removed at the end.
func workDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("/var/tmp", "npte-mcp-wd-")
	if err != nil {
		t.Skipf("no working directory under /var/tmp: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	if err := os.Chmod(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

func slicesHasPrefix(s, prefix []string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := range prefix {
		if s[i] != prefix[i] {
			return false
		}
	}
	return true
}

// TestLiveMCPRealSudo is the production path end to end, inside the
// sandbox: the real npte binary runs 'npte mcp serve' as an unprivileged
// user (nobody), over stdio (the SDK's CommandTransport), and calls the
// real /usr/bin/sudo -n, allowed by the grant 'npte sudoers --user nobody
// --path NPTE' prints, installed on a tmpfs mounted over /etc/sudoers.d in
// the sandbox's private mount namespace (the machine's own /etc/sudoers.d
// is never touched). It also shows that the user may signal its sudo
// process (sudo keeps the user's real uid) and that sudo relays the
// SIGINT of netns_run_stop to the command.
func TestLiveMCPRealSudo(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	if err := sandbox.Private(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(mcpserver.DefaultSudo); err != nil {
		t.Skipf("no %s: %v", mcpserver.DefaultSudo, err)
	}
	if _, err := os.Stat("/etc/sudoers.d"); err != nil {
		t.Skipf("no /etc/sudoers.d to mount the grant on: %v", err)
	}
	wd := workDir(t)
	// A directory nobody can reach, for the binary the grant names.
	bin, err := os.MkdirTemp("", "npte-mcp-live-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(bin)
	if err := os.Chmod(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	npte := filepath.Join(bin, "npte")
	if out, err := osexec.Command("go", "build", "-o", npte, "github.com/npte/npte").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	probe := osexec.Command("/bin/sh", "-c", "cd \"$1\"", "sh", wd)
	probe.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	if err := probe.Run(); err != nil {
		t.Skipf("nobody cannot enter %s, the server's working directory: %v", wd, err)
	}
	grant, err := osexec.Command(npte, "sudoers", "--user", "nobody", "--path", npte, "--form", "classic").Output()
	if err != nil {
		t.Fatalf("npte sudoers: %v", err)
	}
	if out, err := osexec.Command("mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", "/etc/sudoers.d").CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs on /etc/sudoers.d (private mount namespace): %v %s", err, out)
	}
	defer osexec.Command("umount", "/etc/sudoers.d").Run()
	if err := os.WriteFile("/etc/sudoers.d/npte", grant, 0o440); err != nil {
		t.Fatal(err)
	}
	if out, err := osexec.Command("visudo", "-c", "-f", "/etc/sudoers.d/npte").CombinedOutput(); err != nil {
		t.Fatalf("visudo -c: %v %s", err, out)
	}
	if out, err := osexec.Command(npte, "lab", "create").CombinedOutput(); err != nil {
		t.Fatalf("npte lab create: %v\n%s", err, out)
	}
	defer osexec.Command(npte, "lab", "destroy").Run()

	cmd := osexec.Command(npte, "mcp", "serve")
	cmd.Dir = wd
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=/nonexistent", "USER=nobody"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	client := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "test"}, nil)
	cs, err := client.Connect(context.Background(), &mcp.CommandTransport{Command: cmd}, nil)
	if err != nil {
		t.Fatalf("connect to npte mcp serve as nobody: %v\n%s", err, stderr.String())
	}
	session := regexp.MustCompile(`/tmp/npte-mcp-[0-9a-f]{16}`).FindString(cs.InitializeResult().Instructions)
	if fi, err := os.Stat(session); err != nil || fi.Mode().Perm() != 0o700 || fi.Sys().(*syscall.Stat_t).Uid != 65534 {
		t.Errorf("session directory %q: %v %v", session, fi, err)
	}
	exercise(t, &mcpservertest.Harness{Session: cs}, mcpserver.DefaultSudo, npte)

	// A verb outside the grant fails at once (sudo -n), never prompts:
	// none of the tools reaches one, so ask sudo directly as nobody.
	gw := osexec.Command(mcpserver.DefaultSudo, "-n", npte, "gateway", "destroy", "--", "router")
	gw.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	if out, err := gw.CombinedOutput(); err == nil || !strings.Contains(string(out), "password is required") {
		t.Errorf("sudo -n npte gateway as nobody: %v %s", err, out)
	}

	if err := cs.Close(); err != nil {
		t.Logf("close: %v", err)
	}
	if _, err := os.Stat(session); !os.IsNotExist(err) {
		t.Errorf("session directory %s left after the server stopped: %v", session, err)
	}
}
