package securitytest

import (
	"bufio"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/npte/npte/cli"
	npteexec "github.com/npte/npte/exec"
	"github.com/npte/npte/internal/sandbox"
	"github.com/npte/npte/shell"
)

// hostileEnv is an environment that would hijack a careless privileged
// program: a PATH whose first directory holds fake tools, a preloaded
// library, a hostile IFS, shell start-up files, and variables that look
// like they could move npte's state.
func hostileEnv() []string {
	return []string{
		"PATH=/run/evil:" + os.Getenv("PATH"),
		"LD_PRELOAD=/run/evil/evil.so",
		"LD_LIBRARY_PATH=/run/evil",
		"LD_AUDIT=/run/evil/evil.so",
		"GCONV_PATH=/run/evil",
		"IFS=/ ",
		"ENV=/run/evil/rc",
		"BASH_ENV=/run/evil/rc",
		"SHELLOPTS=xtrace",
		"PS4=$(touch /run/evil-trace)",
		"CDPATH=/run/evil",
		"NPTE_STATE=/run/alt", "NPTE_ROOT=/run/alt", "NPTE_STATE_DIR=/run/alt", "NPTE_LOCK=/run/alt/lock",
		"XDG_RUNTIME_DIR=/run/alt", "TMPDIR=/run/alt", "RUNTIME_DIRECTORY=/run/alt", "STATE_DIRECTORY=/run/alt",
		"HOME=/run/alt",
	}
}

// plantEvil fills /run/evil with a fake version of every allowlisted tool
// (and of sh), each of which leaves a trace in /run/evil-trace if run.
func plantEvil(t *testing.T) {
	t.Helper()
	mustBeSandboxed(t)
	mkdir(t, "/run/evil", 0o755)
	mkdir(t, "/run/alt", 0o755)
	names := []string{"sh", "dash", "bash", "busybox", "cat", "env"}
	for _, tool := range npteexec.Tools() {
		names = append(names, tool.Name)
	}
	for _, n := range names {
		script := "#!/bin/sh\necho \"evil " + n + " $*\" >>/run/evil-trace\nexit 0\n"
		if err := os.WriteFile("/run/evil/"+n, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile("/run/evil/evil.so", []byte("not a library\n"), 0o755)
	os.WriteFile("/run/evil/rc", []byte("touch /run/evil-trace\n"), 0o644)
}

// wrapTools bind-mounts, inside the sandbox only, a recording wrapper over
// every allowlisted program in the fixed PATH: each run records its argv
// and its whole environment (from /proc/self/environ, exactly what it was
// given) under /run/trace, then runs the real program.
func wrapTools(t *testing.T) {
	t.Helper()
	mustBeSandboxed(t)
	mkdir(t, "/run/trace", 0o777)
	mkdir(t, "/run/real", 0o755)
	mkdir(t, "/run/wrap", 0o755)
	done := map[string]bool{}
	for _, tool := range npteexec.Tools() {
		for _, dir := range strings.Split(shell.SafePath, ":") {
			p := filepath.Join(dir, tool.Name)
			real, err := filepath.EvalSymlinks(p)
			if err != nil {
				continue
			}
			if !done[real] {
				done[real] = true
				data, err := os.ReadFile(real)
				if err != nil {
					t.Fatal(err)
				}
				copyPath := "/run/real/" + tool.Name
				if err := os.WriteFile(copyPath, data, 0o755); err != nil {
					t.Fatal(err)
				}
				wrapper := "#!/bin/sh\n" +
					"f=/run/trace/$$." + tool.Name + "\n" +
					"printf '%s\\n' \"$@\" >\"$f.argv\"\n" +
					"cat /proc/$$/environ >\"$f.env\"\n" +
					"exec " + copyPath + " \"$@\"\n"
				w := "/run/wrap/" + tool.Name
				if err := os.WriteFile(w, []byte(wrapper), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := syscall.Mount(w, real, "", syscall.MS_BIND, ""); err != nil {
					t.Fatalf("bind %s over %s: %v", w, real, err)
				}
			}
			break
		}
	}
}

// traces returns the environments recorded by the wrappers, by program.
func traces(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	files, _ := filepath.Glob("/run/trace/*.env")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		prog := strings.TrimSuffix(filepath.Ext(strings.TrimSuffix(f, ".env")), "")
		prog = strings.TrimPrefix(prog, ".")
		out[prog] = append(out[prog], strings.ReplaceAll(strings.TrimRight(string(data), "\x00"), "\x00", " "))
	}
	return out
}

// TestHostileEnvironmentLive runs live npte verbs with a hostile
// environment: a fake tool first in PATH is never run, and every program
// npte runs (directly, or via ip netns exec) receives exactly
// PATH=/usr/sbin:/usr/bin:/sbin:/bin and nothing else (no LD_PRELOAD,
// IFS, ENV...). The state stays in /run/npte.
func TestHostileEnvironmentLive(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	plantEvil(t)
	wrapTools(t)
	cmds := [][]string{
		{"netns", "create", "pa"},
		{"netns", "create", "--dns", "192.0.2.53", "pb"},
		{"netns", "list"},
	}
	if connectImplemented(t) {
		cmds = append(cmds,
			[]string{"netns", "connect", "pa", "pb"},
			[]string{"netns", "assign-addr", "pa", "if-pb", "10.7.0.1/24"},
			[]string{"netns", "assign-addr", "pb", "if-pa", "10.7.0.2/24"},
			[]string{"netns", "add-route", "pa", "10.6.0.0/24", "10.7.0.2"},
		)
	}
	if r := mustRunAny(t, "netem", "apply", "--dry-run", "--rate", "10mbit", "pa", "if-pb"); r.Code == 0 && connectImplemented(t) {
		cmds = append(cmds,
			[]string{"netem", "apply", "--rate", "10mbit", "pa", "if-pb"},
			[]string{"netem", "apply", "--rate", "5mbit", "--direction", "ingress", "pb", "if-pa"},
			[]string{"netem", "show", "pa"},
			[]string{"netem", "clear", "pb", "if-pa"},
		)
	}
	if r := mustRunAny(t, "lab", "create", "--dry-run"); r.Code == 0 {
		cmds = append(cmds, []string{"lab", "create"}, []string{"lab", "destroy"})
	}
	cmds = append(cmds, []string{"netns", "destroy", "pa"}, []string{"netns", "destroy", "pb"})
	for _, c := range cmds {
		r := run(bg(t), t, proc{Args: c, Env: hostileEnv()})
		if r.Code != 0 {
			t.Fatalf("with a hostile environment:\n%s", r)
		}
	}
	if data, err := os.ReadFile("/run/evil-trace"); err == nil {
		t.Fatalf("a program from the hostile PATH (or a start-up file) ran:\n%s", data)
	}
	if got := listDir("/run/alt"); len(got) > 0 {
		t.Fatalf("npte wrote to the directory named by the environment: %v", got)
	}
	tr := traces(t)
	n := 0
	var progs []string
	for prog, envs := range tr {
		progs = append(progs, fmt.Sprintf("%s x%d", prog, len(envs)))
		for _, e := range envs {
			n++
			// ip netns exec itself adds PWD for the program it runs
			// (sysctl); npte gives ip nothing but PATH.
			e = strings.TrimSuffix(e, " PWD="+mustGetwd(t))
			if e != "PATH="+shell.SafePath {
				t.Errorf("%s ran with environment %q, want only PATH=%s", prog, e, shell.SafePath)
			}
		}
	}
	sort.Strings(progs)
	if n == 0 {
		t.Fatal("no program run was recorded; the wrappers are not in place")
	}
	t.Logf("%d program runs under a hostile PATH/LD_PRELOAD/IFS/ENV, all from the fixed PATH with environment exactly PATH=%s: %s", n, shell.SafePath, strings.Join(progs, ", "))
}

// TestHostileEnvironmentScript runs rendered scripts under dash and
// busybox sh with the same hostile environment: the script's own PATH
// wins (no fake tool runs), IFS and start-up files have no effect.
func TestHostileEnvironmentScript(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	plantEvil(t)
	wrapTools(t)
	shells := [][]string{{"dash"}, {"busybox", "sh"}}
	ran := 0
	for i, sh := range shells {
		if _, err := exec.LookPath(sh[0]); err != nil {
			t.Logf("%s not installed; skipped", sh[0])
			continue
		}
		name := "ps" + strconv.Itoa(i)
		for _, c := range [][]string{{"netns", "create", name}, {"netns", "destroy", name}} {
			script := mustRun(t, 0, append(c, "--dry-run")...).Stdout
			f := filepath.Join(t.TempDir(), "script.sh")
			os.WriteFile(f, []byte(script), 0o644)
			// sh itself is found by absolute path, as `sudo sh` would (sudo
			// uses secure_path); everything after that is the script's job.
			shPath, _ := exec.LookPath(sh[0])
			cmd := exec.Command(shPath, append(sh[1:], f)...)
			cmd.Env = hostileEnv()
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%s %q: %v\n%s", sh, c, err, out)
			}
			ran++
		}
	}
	if data, err := os.ReadFile("/run/evil-trace"); err == nil {
		t.Fatalf("a program from the hostile PATH (or a start-up file) ran:\n%s", data)
	}
	if exists("/run/netns/ps0") || exists("/run/netns/ps1") {
		t.Fatal("the scripts did not clean up")
	}
	for prog, envs := range traces(t) {
		for _, e := range envs {
			if !strings.Contains(" "+e+" ", " PATH="+shell.SafePath+" ") {
				t.Errorf("%s ran from a script with PATH other than %s: %q", prog, shell.SafePath, e)
			}
		}
	}
	t.Logf("%d rendered scripts run by dash and busybox sh under a hostile environment: no fake tool ran, every program saw PATH=%s", ran, shell.SafePath)
}

// TestScriptsSetTheirOwnPath checks every golden script: the header sets
// and exports PATH before the first command.
func TestScriptsSetTheirOwnPath(t *testing.T) {
	files, _ := filepath.Glob("../testdata/golden/*.sh")
	if len(files) == 0 {
		t.Fatal("no golden scripts")
	}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sawPath, sawExport := false, false
		for sc.Scan() {
			l := sc.Text()
			switch {
			case l == "PATH="+shell.SafePath:
				sawPath = true
			case l == "export PATH":
				sawExport = sawPath
			case l == "" || strings.HasPrefix(l, "#") || l == "set -eu":
			default:
				if !sawPath || !sawExport {
					t.Errorf("%s: %q runs before the script sets and exports its PATH", f, l)
				}
			}
			if sawExport {
				break
			}
		}
		fh.Close()
		if !sawExport {
			t.Errorf("%s: no PATH=%s / export PATH in the header", f, shell.SafePath)
		}
	}
	t.Logf("%d golden scripts set and export PATH=%s before any command", len(files), shell.SafePath)
}

// TestDefaultEnvIgnoresEnvironment: cli.DefaultEnv takes the state layout
// from no environment variable.
func TestDefaultEnvIgnoresEnvironment(t *testing.T) {
	for _, kv := range hostileEnv() {
		k, v, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "NPTE_") || strings.Contains(k, "DIR") || k == "HOME" {
			t.Setenv(k, v)
		}
	}
	if got := cli.DefaultEnv("x").Layout; got != shell.DefaultLayout() || got.Root != "/run/npte" || got.LockPath() != "/run/npte/lock" {
		t.Fatalf("the environment moved the layout: %+v", got)
	}
}

// TestStateDirectoryCannotMove: a live npte with NPTE_STATE,
// XDG_RUNTIME_DIR, TMPDIR, RUNTIME_DIRECTORY, HOME... pointing elsewhere
// keeps its state in /run/npte and waits for a lock held on
// /run/npte/lock; flags that would move it do not exist (exit 2).
func TestStateDirectoryCannotMove(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	mkdir(t, "/run/alt", 0o755)
	for _, flag := range []string{"--state=/run/alt", "--state-dir=/run/alt", "--root=/run/alt", "--lock=/run/alt/lock", "--run-dir=/run/alt"} {
		r := run(bg(t), t, proc{Args: []string{"netns", "create", flag, "sd"}})
		if r.Code != 2 || exists("/run/netns/sd") {
			t.Errorf("flag %s: want exit 2 and nothing done, got:\n%s", flag, r)
		}
	}
	mustRun(t, 0, "netns", "list")
	release := holdLock(t)
	done := make(chan result, 1)
	go func() { done <- run(bg(t), t, proc{Args: []string{"netns", "create", "sd"}, Env: hostileEnv()}) }()
	select {
	case r := <-done:
		release()
		t.Fatalf("npte did not wait for /run/npte/lock:\n%s", r)
	case <-time.After(time.Second):
	}
	release()
	if r := <-done; r.Code != 0 {
		t.Fatalf("create sd:\n%s", r)
	}
	if !exists("/run/npte/netns/sd") || len(listDir("/run/alt")) > 0 {
		t.Fatalf("state not in /run/npte: /run/npte: %v, /run/alt: %v", listDir("/run/npte/netns"), listDir("/run/alt"))
	}
	t.Logf("with NPTE_STATE, XDG_RUNTIME_DIR, TMPDIR, RUNTIME_DIRECTORY, HOME... set: state in /run/npte, lock /run/npte/lock honoured; 5 state-moving flags refused")
}

func mustGetwd(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return wd
}

// TestNoTestHooksInProduction parses every package that the npte binary
// is built from (main and the module packages it imports, recursively):
// none mentions the test hooks (NPTE_TEST_*), and the environment
// variables they read are a short reviewed list, none of which names a
// path, so nothing in the environment can move npte's state or choose its
// programs.
func TestNoTestHooksInProduction(t *testing.T) {
	const module = "github.com/npte/npte"
	// allowed: every variable production npte reads, and why.
	allowed := map[string]string{
		"NO_COLOR":  "turns colour off (https://no-color.org)",
		"SUDO_USER": "the user netns run drops to, and sudoers' default user; validated, never root",
		"TERM":      "passed to netns run's command when it looks like a terminal type",
		"SHELL":     "completion: which shell to print for",
		"USER":      "sudoers' default user when not root; validated as a user name, only printed",
	}
	seen := map[string]bool{}
	read := map[string][]string{}
	fset := token.NewFileSet()
	var visit func(dir string)
	visit = func(dir string) {
		if seen[dir] {
			return
		}
		seen[dir] = true
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(src), "NPTE_TEST") {
				t.Errorf("%s mentions a test hook (NPTE_TEST...)", f)
			}
			af, err := parser.ParseFile(fset, f, src, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range af.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				if rest, ok := strings.CutPrefix(p, module+"/"); ok {
					visit(filepath.Join("..", rest))
				}
			}
			ast.Inspect(af, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				var name string
				switch fn := call.Fun.(type) {
				case *ast.SelectorExpr:
					name = fn.Sel.Name
				case *ast.Ident:
					name = fn.Name
				}
				switch name {
				case "Getenv", "LookupEnv":
					if len(call.Args) == 1 {
						if lit, ok := call.Args[0].(*ast.BasicLit); ok {
							v, _ := strconv.Unquote(lit.Value)
							read[v] = append(read[v], fset.Position(call.Pos()).String())
							return true
						}
					}
					t.Errorf("%s: %s with a non-literal name; cannot check which variable it reads", fset.Position(call.Pos()), name)
				case "Environ", "ExpandEnv", "UserHomeDir", "UserCacheDir", "UserConfigDir", "TempDir", "MkdirTemp", "CreateTemp":
					if sel, ok := call.Fun.(*ast.SelectorExpr); ok {
						if id, ok := sel.X.(*ast.Ident); ok && id.Name == "os" {
							t.Errorf("%s: os.%s lets the environment reach npte", fset.Position(call.Pos()), name)
						}
					}
				}
				return true
			})
		}
	}
	visit("..")
	var names []string
	for v, where := range read {
		names = append(names, v)
		if _, ok := allowed[v]; !ok {
			t.Errorf("production npte reads $%s (%v); review it and add it to the allowed list with a reason, unless it names a path", v, where)
		}
	}
	sort.Strings(names)
	t.Logf("%d packages scanned; environment variables read: %v", len(seen), names)
}

// TestNetnsRunNeverRoot: netns run refuses (exit 2, nothing run) when
// $SUDO_USER is missing, empty, root, another name for uid 0, or unknown,
// live and as a rendered script; with a real unprivileged $SUDO_USER the
// command runs as that user, whatever -e pairs or SUDO_UID say.
func TestNetnsRunNeverRoot(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	privateUsers(t)
	mustRun(t, 0, "netns", "create", "rn")
	if r := run(bg(t), t, proc{Args: []string{"netns", "run", "--dry-run", "rn", "--", "id", "-u"}, Env: []string{"SUDO_USER=" + testUser}}); r.Code != 0 {
		t.Fatalf("netns run --dry-run failed: %s", r)
	}
	refused := 0
	for _, user := range []string{"", "root", toorUser, "nosuchuser", "0", "-root", "root\n", "../root"} {
		for _, script := range []bool{false, true} {
			args := []string{"netns", "run", "rn", "--", "id", "-u"}
			if script {
				args = append(args[:2], append([]string{"--dry-run"}, args[2:]...)...)
			}
			r := run(bg(t), t, proc{Args: args, Script: script, Env: []string{"SUDO_USER=" + user, "SUDO_UID=0"}})
			if r.Code != 2 || strings.TrimSpace(r.Stdout) == "0" {
				t.Errorf("SUDO_USER=%q script=%v: want exit 2 and nothing run, got:\n%s", user, script, r)
			}
			refused++
		}
	}
	ran := 0
	for _, extra := range [][]string{nil, {"-e", "USER=root", "-e", "HOME=/root", "-e", "LOGNAME=root", "-e", "LD_PRELOAD=/nonexistent.so"}} {
		for _, script := range []bool{false, true} {
			args := append([]string{"netns", "run"}, extra...)
			if script {
				args = append(args, "--dry-run")
			}
			args = append(args, "rn", "--", "id", "-u")
			r := run(bg(t), t, proc{Args: args, Script: script, Env: []string{"SUDO_USER=" + testUser, "SUDO_UID=0", "SUDO_GID=0"}})
			if r.Code != 0 || strings.TrimSpace(r.Stdout) != "4242" {
				t.Errorf("SUDO_USER=%s %q script=%v: want uid 4242, got:\n%s", testUser, extra, script, r)
			}
			ran++
		}
	}
	t.Logf("netns run: %d refusals (no/empty/root/uid-0 alias/unknown/malformed SUDO_USER, live and script), %d runs, all as uid 4242", refused, ran)
}
