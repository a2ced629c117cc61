package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/npte/npte/internal/sandbox"
)

// securePath is a PATH without Go's directory, as under sudo (Debian's
// secure_path adds only /usr/local/sbin and /usr/local/bin to these).
const securePath = "/usr/sbin:/usr/bin:/sbin:/bin"

// needMake returns the path of make, or skips the test.
func needMake(t *testing.T) string {
	t.Helper()
	mk, err := exec.LookPath("make")
	if err != nil {
		t.Skip("make is not installed")
	}
	return mk
}

// TestMakefileFindsGo: with a PATH that lacks Go's directory (sudo's),
// `make lint` and `make test` still name the go and gofmt of the standard
// install, /usr/local/go (README: sudo make test).
func TestMakefileFindsGo(t *testing.T) {
	mk := needMake(t)
	makeFindsGo(t, "env -i PATH="+securePath, []string{mk}, []string{"PATH=" + securePath, "HOME=" + t.TempDir()}, securePath)
}

// TestSudoMakeFindsGo runs `sudo -n make -n lint|test` itself (as root,
// in the sandbox, so that whatever sudo writes under /run goes away):
// sudo's own secure_path, whatever it is, is enough.
func TestSudoMakeFindsGo(t *testing.T) {
	sudo, err := exec.LookPath("sudo")
	if err != nil {
		t.Skip("sudo is not installed")
	}
	mk := needMake(t)
	if !sandbox.Enter(t) {
		return
	}
	if err := sandbox.Private(); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(sudo, "-n", "sh", "-c", `printf %s "$PATH"`).Output()
	if err != nil {
		t.Skipf("sudo -n does not run here: %v", err)
	}
	path := string(out)
	if strings.Contains(":"+path+":", ":"+filepath.Dir(mk)+":") {
		makeFindsGo(t, "sudo -n", []string{sudo, "-n", "make"}, os.Environ(), path)
	} else {
		t.Skipf("make (%s) is not on sudo's PATH %s", mk, path)
	}
}

// makeFindsGo runs argv -n lint and argv -n test with env, where make
// sees PATH path, and checks that they use the go found on path, else
// /usr/local/go/bin/go, and that go's gofmt.
func makeFindsGo(t *testing.T, name string, argv, env []string, path string) {
	t.Helper()
	want := "/usr/local/go/bin/go"
	for _, d := range strings.Split(path, ":") {
		if _, err := os.Stat(filepath.Join(d, "go")); err == nil {
			want = filepath.Join(d, "go")
			break
		}
	}
	if _, err := os.Stat(want); err != nil {
		t.Skipf("Go is neither on %s nor at its standard place /usr/local/go", path)
	}
	goroot, err := exec.Command(want, "env", "GOROOT").Output()
	if err != nil {
		t.Fatal(err)
	}
	gofmt := strings.TrimSpace(string(goroot)) + "/bin/gofmt"
	for _, target := range []string{"lint", "test"} {
		cmd := exec.Command(argv[0], append(argv[1:], "-n", target)...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: make -n %s: %v\n%s", name, target, err, out)
		}
		for _, w := range []string{want + " vet ./...", `"` + gofmt + `" -l`} {
			if !strings.Contains(string(out), w) {
				t.Errorf("%s: make -n %s with PATH=%s does not run %q:\n%s", name, target, path, w, out)
			}
		}
	}
	t.Logf("%s (PATH=%s): make uses %s and %s", name, path, want, gofmt)
}

// TestMakeLintFailsWithoutGofmt: lint fails when gofmt is missing or
// fails, instead of taking its silence for "formatted".
func TestMakeLintFailsWithoutGofmt(t *testing.T) {
	mk := needMake(t)
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go is not on PATH")
	}
	makefile, err := filepath.Abs("Makefile")
	if err != nil {
		t.Fatal(err)
	}
	// A small, formatted, vet-clean module: lint passes with a working
	// gofmt, so a failure below is the gofmt check's.
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":    "module example.com/m\n\ngo 1.21\n",
		"m.go":      "// Package m is empty.\npackage m\n",
		"bad/gofmt": "#!/bin/sh\necho 'gofmt: broken' >&2\nexit 2\n",
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name, gofmt, msg string
		ok               bool
	}{
		{"working gofmt", "", "", true},
		{"missing gofmt", filepath.Join(dir, "nothere", "gofmt"), "gofmt not found at", false},
		{"failing gofmt", filepath.Join(dir, "bad", "gofmt"), "gofmt failed", false},
	} {
		args := []string{"-f", makefile, "-C", dir, "lint"}
		if tc.gofmt != "" {
			args = append(args, "GOFMT="+tc.gofmt)
		}
		cmd := exec.Command(mk, args...)
		out, err := cmd.CombinedOutput()
		if (err == nil) != tc.ok || !strings.Contains(string(out), tc.msg) {
			t.Errorf("%s: make lint: err %v, want success %v and %q:\n%s", tc.name, err, tc.ok, tc.msg, out)
		}
	}
}

// TestMakeInstallManPage: make install puts the man page in
// $(PREFIX)/share/man/man8 next to the binary in $(PREFIX)/sbin.
func TestMakeInstallManPage(t *testing.T) {
	mk := needMake(t)
	out, err := exec.Command(mk, "-n", "install", "DESTDIR=/dest", "PREFIX=/usr/local").CombinedOutput()
	if err != nil {
		t.Fatalf("make -n install: %v\n%s", err, out)
	}
	for _, w := range []string{
		"install -D -o root -g root -m 0555 npte /dest/usr/local/sbin/npte\n",
		"install -D -o root -g root -m 0644 npte.8 /dest/usr/local/share/man/man8/npte.8\n",
	} {
		if !strings.Contains(string(out), w) {
			t.Errorf("make -n install lacks %q:\n%s", w, out)
		}
	}
}
