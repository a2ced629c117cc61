package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
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

// TestMakefileFindsGo: with sudo's PATH (no Go directory), `make lint`
// and `make test` still name the go and gofmt of the standard install,
// /usr/local/go (README: sudo make test).
func TestMakefileFindsGo(t *testing.T) {
	mk := needMake(t)
	want := "/usr/local/go/bin/go"
	for _, d := range strings.Split(securePath, ":") {
		if _, err := os.Stat(filepath.Join(d, "go")); err == nil {
			want = filepath.Join(d, "go")
			break
		}
	}
	if _, err := os.Stat(want); err != nil {
		t.Skipf("Go is neither on %s nor at its standard place /usr/local/go", securePath)
	}
	goroot, err := exec.Command(want, "env", "GOROOT").Output()
	if err != nil {
		t.Fatal(err)
	}
	gofmt := strings.TrimSpace(string(goroot)) + "/bin/gofmt"
	for _, target := range []string{"lint", "test"} {
		cmd := exec.Command(mk, "-n", target)
		cmd.Env = []string{"PATH=" + securePath, "HOME=" + t.TempDir()}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("make -n %s: %v\n%s", target, err, out)
		}
		for _, w := range []string{want + " vet ./...", `"` + gofmt + `" -l`} {
			if !strings.Contains(string(out), w) {
				t.Errorf("make -n %s with PATH=%s does not run %q:\n%s", target, securePath, w, out)
			}
		}
	}
	if testing.Verbose() {
		t.Logf("with sudo's PATH, make uses %s and %s", want, gofmt)
	}
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
