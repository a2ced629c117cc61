package securitytest

import (
	"bytes"
	"context"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"github.com/npte/npte/cli"
	"github.com/npte/npte/exec"
	"github.com/npte/npte/shell"
)

// sudoLabEnv is a private world in which npte runs as root (euid 0)
// through sudo from the user named by sudoUser ("" for a root login).
// Programs are recorded, never run.
func sudoLabEnv(t *testing.T, sudoUser string, args ...string) (cli.Env, *bytes.Buffer, *bytes.Buffer, *[][]string) {
	t.Helper()
	root := t.TempDir()
	layout := shell.Layout{Root: filepath.Join(root, "npte"), RunNetns: filepath.Join(root, "netns")}
	bin := filepath.Join(root, "bin")
	for _, d := range []string{layout.NetnsDir(), layout.IntentDir(), layout.RunNetns, bin} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, tool := range exec.Tools() {
		if err := os.WriteFile(filepath.Join(bin, tool.Name), []byte("#!/bin/false\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var ran [][]string
	var stdout, stderr bytes.Buffer
	vars := map[string]string{"SUDO_USER": sudoUser}
	return cli.Env{
		Args: args, Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr,
		Getenv: func(k string) string { return vars[k] }, Euid: 0, Version: "test",
		Layout: layout, Owner: os.Getuid(), Dirs: []string{bin},
		Start:      func(_ context.Context, c exec.Cmd) error { ran = append(ran, c.Argv); return nil },
		Exec:       func(c exec.Cmd) error { ran = append(ran, c.Argv); return nil },
		LookupUser: user.Lookup,
		UserGroups: (*user.User).GroupIds,
		Getwd:      func() (string, error) { return root, nil },
	}, &stdout, &stderr, &ran
}

// TestLabFileReadAsSudoUser: a lab file named through sudo is read with
// the invoking user's rights, so the NOPASSWD grant of `npte lab` cannot
// read a root-only file and have a parse error quote it (before: lab
// check printed the file's lines as snippets of its errors).
func TestLabFileReadAsSudoUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: reading as another user changes the file-system uid (CI runs as root)")
	}
	if _, err := user.Lookup("nobody"); err != nil {
		t.Skipf("no user nobody: %v", err)
	}
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil { // this test's own directories
			t.Fatal(err)
		}
	}
	const secret = "root-only-secret-line"
	shadow := filepath.Join(dir, "shadow")
	if err := os.WriteFile(shadow, []byte(secret+": x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, verb := range [][]string{{"lab", "check"}, {"lab", "plan"}, {"lab", "apply", "--dry-run"}, {"lab", "graph"}, {"lab", "destroy"}} {
		args := append(append([]string{}, verb...), shadow)
		t.Run(strings.Join(verb, " ")+" via sudo", func(t *testing.T) {
			env, stdout, stderr, ran := sudoLabEnv(t, "nobody", args...)
			code := cli.Main(env)
			out := stdout.String() + stderr.String()
			if code != 2 || strings.Contains(out, secret) || !strings.Contains(out, "permission denied") || len(*ran) != 0 {
				t.Fatalf("exit %d, ran %v, output:\n%s\nwant exit 2, permission denied, nothing run, and no line of the file", code, *ran, out)
			}
		})
	}
	// A root login reads the file (and so may quote it): root can read it anyway.
	env, stdout, stderr, _ := sudoLabEnv(t, "", "lab", "check", shadow)
	if code := cli.Main(env); code != 2 || !strings.Contains(stdout.String()+stderr.String(), secret) {
		t.Fatalf("root login: exit %d, output:\n%s%s\nwant the parse error quoting the file", code, stdout, stderr)
	}
}

// TestLabApplyUplinkNotThroughGrant: a lab file's uplink is a gateway
// (host veth, NAT, forwarding), which the NOPASSWD grant leaves out; so
// lab apply through sudo by a user refuses to make one, while its dry
// run, a lab without uplink and a root login work.
func TestLabApplyUplinkNotThroughGrant(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: reading as another user changes the file-system uid (CI runs as root)")
	}
	if _, err := user.Lookup("nobody"); err != nil {
		t.Skipf("no user nobody: %v", err)
	}
	uplink, _ := filepath.Abs("../examples/uplink.yaml")
	builtin, _ := filepath.Abs("../examples/builtin.yaml")
	for _, f := range []string{uplink, builtin} {
		for d := filepath.Dir(f); d != "/"; d = filepath.Dir(d) {
			if fi, err := os.Stat(d); err != nil || fi.Mode().Perm()&0o005 != 0o005 {
				t.Skipf("%s is not world-searchable: the examples must be readable by nobody for this test", d)
			}
		}
	}
	for _, tc := range []struct {
		name     string
		sudoUser string
		args     []string
		code     int
		ran      bool
	}{
		{"uplink via sudo", "nobody", []string{"lab", "apply", uplink}, 2, false},
		{"uplink via sudo, dry run", "nobody", []string{"lab", "apply", "--dry-run", uplink}, 0, false},
		{"uplink via sudo, json plan", "nobody", []string{"lab", "apply", "--output", "json", uplink}, 0, false},
		{"no uplink via sudo", "nobody", []string{"lab", "apply", builtin}, -1, true},
		{"uplink as root", "", []string{"lab", "apply", uplink}, -1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, _, stderr, ran := sudoLabEnv(t, tc.sudoUser, tc.args...)
			code := cli.Main(env)
			if tc.code >= 0 && code != tc.code {
				t.Fatalf("exit %d, want %d:\n%s", code, tc.code, stderr)
			}
			if got := len(*ran) > 0; got != tc.ran {
				t.Fatalf("ran %v, want programs run: %v\n%s", *ran, tc.ran, stderr)
			}
			if tc.code == 2 && !strings.Contains(stderr.String(), "not in the NOPASSWD grant") {
				t.Fatalf("refusal does not say why:\n%s", stderr)
			}
		})
	}
}
