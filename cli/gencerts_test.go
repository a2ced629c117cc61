package cli_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/npte/npte/cli"
	"github.com/npte/npte/internal/fidelity"
)

// TestGencertsGolden runs every form of npte gencerts (it has no
// --dry-run: it runs no program and needs no root) in a temporary
// directory and compares what it prints, and its exit code, with
// testdata/gencerts/NAME.out (the directory shown as DIR). Update with
// go test ./cli -run TestGencertsGolden -update.
func TestGencertsGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"default", nil},
		{"server", []string{"--dns-name", "server", "--ip-addr", "172.16.2.2"}},
		{"many", []string{"--dns-name", "server", "--dns-name", "www.lab.example", "--ip-addr", "172.16.2.2", "--ip-addr", "fd00:172:16:2::2", "--days", "30"}},
		{"ip-only", []string{"--ip-addr", "10.0.0.2"}},
		{"bad-dns", []string{"--dns-name", "-server"}},
		{"bad-wildcard", []string{"--dns-name", "*.lab"}},
		{"bad-ip", []string{"--ip-addr", "172.16.2.0/24"}},
		{"bad-zone", []string{"--ip-addr", "fe80::1%eth0"}},
		{"bad-days", []string{"--days", "0"}},
		{"ip-as-name", []string{"--dns-name", "172.16.2.2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "certs")
			args := append([]string{"gencerts", "-C", dir}, tc.args...)
			env, stdout, stderr := gcEnv(t, args)
			code := cli.Main(env)
			got := fmt.Sprintf("$ npte %s\nexit %d\n--- stdout\n%s--- stderr\n%s", strings.Join(append([]string{"gencerts", "-C", "DIR"}, tc.args...), " "), code, stdout, stderr)
			got = strings.ReplaceAll(got, dir, "DIR")
			golden := filepath.Join("../testdata/gencerts", tc.name+".out")
			if *update {
				os.MkdirAll(filepath.Dir(golden), 0o755)
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (go test ./cli -run TestGencertsGolden -update)", err)
			}
			if string(want) != got {
				t.Errorf("--- want\n%s--- got\n%s", want, got)
			}
			_, statErr := os.Stat(dir)
			if (code == 0) != (statErr == nil) {
				t.Errorf("exit %d, directory made: %v", code, statErr == nil)
			}
		})
	}
}

func gcEnv(t *testing.T, args []string) (cli.Env, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	layout, bin := fidelity.StateRoot(t)
	var stdout, stderr bytes.Buffer
	return cli.Env{
		Args: args, Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr,
		Getenv: func(string) string { return "" }, Euid: 1000, Version: "test",
		Layout: layout, Owner: os.Getuid(), Dirs: []string{bin},
	}, &stdout, &stderr
}
