package securitytest

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/npte/npte/internal/sandbox"
)

// victim is a directory outside npte's paths that attacks point at; its
// content must never change.
const victim = "/run/victim"

func makeVictim(t *testing.T) string {
	t.Helper()
	mustBeSandboxed(t)
	for _, d := range []string{victim, victim + "/netns", victim + "/intent", victim + "/dir"} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{victim + "/file", victim + "/lock", victim + "/netns/fa", victim + "/intent/fa", victim + "/dir/resolv.conf", victim + "/dir/keep"} {
		if err := os.WriteFile(f, []byte("precious "+f+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return fsSnapshot(victim)
}

// ownerGap: live npte checks the owner and mode of its state directories
// (registry.checkDir); the rendered lock only refuses symbolic links, and
// its install -d -m 0755 repairs a group/world-writable mode instead of
// refusing. Closing it needs an owner/mode guard in render's Lock (stat is
// not in the allowlist yet); see the issue 7 report.

// attack is one hostile arrangement of the file system.
type attack struct {
	name  string
	setup func(t *testing.T)
	// verbs are npte command lines that must be refused (exit 2).
	verbs [][]string
	// after, if set, checks more.
	after func(t *testing.T)
}

// stateDirs makes npte's state directories and lock file as npte would.
func stateDirs(t *testing.T) {
	t.Helper()
	mkdir(t, "/run/npte/netns", 0o755)
	mkdir(t, "/run/npte/intent", 0o755)
	if err := os.WriteFile("/run/npte/lock", nil, 0o600); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func mkdir(t *testing.T, p string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(p, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

// TestFilesystemAttacks arranges npte's state paths hostilely (symbolic
// links to a victim directory, wrong owner, group- or world-writable
// directories) and runs every state-changing verb, live and as a
// rendered script piped into sh: each is refused, follows no link, and
// leaves the victim directory, the kernel and npte's state untouched.
func TestFilesystemAttacks(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	all := [][]string{
		{"netns", "create", "fa"},
		{"netns", "destroy", "fa"},
		{"netns", "connect", "fa", "fb"},
	}
	attacks := []attack{
		{name: "/run/npte is a symlink", setup: func(t *testing.T) { symlink(t, victim, "/run/npte") }, verbs: all},
		{name: "/run/npte/netns is a symlink", setup: func(t *testing.T) {
			mkdir(t, "/run/npte", 0o755)
			symlink(t, victim+"/netns", "/run/npte/netns")
		}, verbs: all},
		{name: "/run/npte/intent is a symlink", setup: func(t *testing.T) {
			mkdir(t, "/run/npte/netns", 0o755)
			symlink(t, victim+"/intent", "/run/npte/intent")
		}, verbs: all},
		{name: "/run/npte/lock is a symlink", setup: func(t *testing.T) {
			mkdir(t, "/run/npte/netns", 0o755)
			mkdir(t, "/run/npte/intent", 0o755)
			symlink(t, victim+"/lock", "/run/npte/lock")
		}, verbs: all},
		{name: "/run/npte/lock is a dangling symlink", setup: func(t *testing.T) {
			mkdir(t, "/run/npte/netns", 0o755)
			mkdir(t, "/run/npte/intent", 0o755)
			symlink(t, victim+"/created-by-npte", "/run/npte/lock")
		}, verbs: all},
		{name: "/run/npte owned by another user", setup: func(t *testing.T) {
			mkdir(t, "/run/npte/netns", 0o755)
			os.Chown("/run/npte", 65534, 65534)
		}, verbs: all},
		{name: "/run/npte/netns owned by another user", setup: func(t *testing.T) {
			mkdir(t, "/run/npte/netns", 0o755)
			os.Chown("/run/npte/netns", 65534, 65534)
		}, verbs: all},
		{name: "/run/npte world-writable", setup: func(t *testing.T) {
			mkdir(t, "/run/npte/netns", 0o755)
			mkdir(t, "/run/npte", 0o777)
		}, verbs: all},
		{name: "/run/npte/netns group-writable", setup: func(t *testing.T) {
			mkdir(t, "/run/npte/netns", 0o775)
		}, verbs: all},
		{name: "/run/npte/intent world-writable", setup: func(t *testing.T) {
			mkdir(t, "/run/npte/netns", 0o755)
			mkdir(t, "/run/npte/intent", 0o1777)
		}, verbs: all},
		{name: "marker is a symlink to a file elsewhere", setup: func(t *testing.T) {
			sandbox.Run(t, "ip", "netns", "add", "fa")
			stateDirs(t)
			symlink(t, victim+"/file", "/run/npte/netns/fa")
		}, verbs: all, after: func(t *testing.T) {
			if !exists("/run/netns/fa") {
				t.Error("the namespace behind a symlinked marker was deleted")
			}
			if out := mustRun(t, 0, "netns", "list").Stdout; out != "" {
				t.Errorf("list shows a symlinked marker: %q", out)
			}
		}},
		{name: "intent record is a symlink to a file elsewhere", setup: func(t *testing.T) {
			sandbox.Run(t, "ip", "netns", "add", "fa")
			stateDirs(t)
			symlink(t, victim+"/file", "/run/npte/intent/fa")
		}, verbs: all, after: func(t *testing.T) {
			if !exists("/run/netns/fa") {
				t.Error("the namespace behind a symlinked intent record was deleted")
			}
		}},
		{name: "marker is a directory", setup: func(t *testing.T) {
			sandbox.Run(t, "ip", "netns", "add", "fa")
			stateDirs(t)
			mkdir(t, "/run/npte/netns/fa", 0o755)
		}, verbs: all},
		{name: "/etc/netns/NAME is a symlink to another directory", setup: func(t *testing.T) {
			stateDirs(t)
			symlink(t, victim+"/dir", "/etc/netns/fa")
		}, verbs: [][]string{{"netns", "create", "fa"}}},
	}
	for _, a := range attacks {
		for _, script := range []bool{false, true} {
			mode := "live"
			if script {
				mode = "script | sh"
			}
			t.Run(a.name+"/"+strings.ReplaceAll(mode, " ", ""), func(t *testing.T) {
				reset(t)
				before := makeVictim(t)
				a.setup(t)
				state := fsSnapshot(stateRoots...)
				netns := listDir("/run/netns")
				for _, v := range a.verbs {
					var r result
					if script {
						r = run(bg(t), t, proc{Args: append(append([]string{}, v...), "--dry-run"), Script: true})
					} else {
						r = run(bg(t), t, proc{Args: v})
					}
					if r.Code != 2 {
						t.Errorf("%s: want refusal (exit 2), got:\n%s", mode, r)
					} else {
						t.Logf("%s %q refused: %s", mode, v, strings.TrimSpace(r.Stderr))
					}
				}
				if got := fsSnapshot(victim); got != before {
					t.Errorf("the victim directory changed:\n--- before\n%s\n--- after\n%s", before, got)
				}
				if got := fsSnapshot(stateRoots...); got != state {
					t.Errorf("npte's state changed:\n--- before\n%s\n--- after\n%s", state, got)
				}
				if got := listDir("/run/netns"); strings.Join(got, " ") != strings.Join(netns, " ") {
					t.Errorf("namespaces changed: %v -> %v", netns, got)
				}
				if a.after != nil {
					a.after(t)
				}
			})
		}
	}
}

// TestDestroyDoesNotFollowEtcNetnsLink: a managed namespace whose
// /etc/netns/NAME was replaced by a symlink to another directory is
// destroyed without touching that directory (rm removes the link only).
func TestDestroyDoesNotFollowEtcNetnsLink(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	for _, script := range []bool{false, true} {
		reset(t)
		before := makeVictim(t)
		mustRun(t, 0, "netns", "create", "fe")
		if err := os.RemoveAll("/etc/netns/fe"); err != nil {
			t.Fatal(err)
		}
		symlink(t, victim+"/dir", "/etc/netns/fe")
		args := []string{"netns", "destroy", "fe"}
		if script {
			args = append(args, "--dry-run")
		}
		r := run(bg(t), t, proc{Args: args, Script: script})
		if r.Code != 0 {
			t.Fatalf("destroy failed:\n%s", r)
		}
		if got := fsSnapshot(victim); got != before {
			t.Errorf("script=%v: destroy followed /etc/netns/fe into the victim:\n--- before\n%s\n--- after\n%s", script, before, got)
		}
		if exists("/etc/netns/fe") || exists("/run/netns/fe") {
			t.Errorf("script=%v: destroy left fe behind", script)
		}
	}
}

// reset empties the sandbox's npte state, namespaces and victim. It
// writes only to the sandbox's own tmpfs mounts and never to the host's
// /etc.
func reset(t *testing.T) {
	t.Helper()
	mustBeSandboxed(t)
	for _, n := range listDir("/run/netns") {
		_ = exec.Command("ip", "netns", "del", n).Run()
	}
	// Never build anything out of bind mounts of host paths here: a
	// later RemoveAll or WriteFile would go through them to the host (this
	// is how /etc/netns-as-a-symlink, now untested live, wiped /etc once).
	sandbox.Run(t, "mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", "/etc/netns")
	for _, p := range []string{"/run/npte", victim} {
		if err := os.RemoveAll(p); err != nil {
			t.Fatal(err)
		}
	}
}
