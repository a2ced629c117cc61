package cli_test

import (
	"bufio"
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/shlex"

	"github.com/npte/npte/internal/fidelity"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden (make golden)")

// goldenCase is one line of a testdata/golden/*.cases file:
//
//	NAME [OPTION=VALUE ...]: ARGS...
//
// ARGS are split with shlex. Options set up the fidelity check's private
// state: managed=a,b (namespaces with a marker), foreign=a,b (kernel
// namespaces without one), intents=a,b, links=ns/dev,... (interfaces that
// exist), sudo=USER ($SUDO_USER).
type goldenCase struct {
	name  string
	args  []string
	setup fidelity.Setup
	links map[string]bool
	file  string
}

func loadCases(t *testing.T) []goldenCase {
	t.Helper()
	files, err := filepath.Glob("../testdata/golden/*.cases")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden case files: %v", err)
	}
	sort.Strings(files)
	var cases []goldenCase
	seen := map[string]bool{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			head, rest, ok := strings.Cut(line, ":")
			if !ok {
				t.Fatalf("%s: bad line %q", f, line)
			}
			fields := strings.Fields(head)
			c := goldenCase{name: fields[0], file: f, links: map[string]bool{}}
			if seen[c.name] {
				t.Fatalf("%s: duplicate case %s", f, c.name)
			}
			seen[c.name] = true
			for _, opt := range fields[1:] {
				k, v, _ := strings.Cut(opt, "=")
				list := strings.Split(v, ",")
				switch k {
				case "managed":
					c.setup.Managed = list
				case "foreign":
					c.setup.Foreign = list
				case "intents":
					c.setup.Intents = list
				case "sudo":
					c.setup.SudoUser = v
				case "links":
					for _, l := range list {
						c.links[l] = true
					}
				default:
					t.Fatalf("%s: unknown option %q", f, opt)
				}
			}
			c.args, err = shlex.Split(rest)
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			cases = append(cases, c)
		}
	}
	return cases
}

// world makes `ip -n NS link show dev DEV` succeed only for listed links
// (and `ip -n NS -j link show dev DEV` likewise, and `ip link show dev DEV`
// for links=host/DEV); everything else succeeds.
func (c goldenCase) world(argv []string) int {
	if len(argv) >= 7 && argv[0] == "ip" && argv[1] == "-n" {
		rest := argv[3:]
		if rest[0] == "-j" {
			rest = rest[1:]
		}
		if len(rest) == 4 && rest[0] == "link" && rest[1] == "show" && rest[2] == "dev" {
			if c.links[argv[2]+"/"+rest[3]] {
				return 0
			}
			return 1
		}
	}
	// No gateway leaves anything behind: `nft list table ...` and
	// `iptables -t T -S CHAIN` (on the host or through ip netns exec) fail.
	probe := argv
	if len(probe) > 4 && probe[0] == "ip" && probe[1] == "netns" && probe[2] == "exec" {
		probe = probe[4:]
	}
	if len(probe) >= 2 && probe[0] == "nft" && probe[1] == "list" ||
		len(probe) == 5 && (probe[0] == "iptables" || probe[0] == "ip6tables") && probe[3] == "-S" {
		return 1
	}
	// The host's own interfaces: `ip link show dev DEV` succeeds only for
	// links=host/DEV ("host" is never a gateway's namespace name).
	if len(argv) == 5 && argv[0] == "ip" && argv[1] == "link" && argv[2] == "show" && argv[3] == "dev" {
		if c.links["host/"+argv[4]] {
			return 0
		}
		return 1
	}
	return 0
}

func TestGolden(t *testing.T) {
	for _, c := range loadCases(t) {
		t.Run(c.name, func(t *testing.T) {
			script, stderr, code := fidelity.DryRun(t, c.setup, c.args...)
			if code != 0 {
				t.Fatalf("npte %s: exit %d: %s", strings.Join(c.args, " "), code, stderr)
			}
			golden := filepath.Join("../testdata/golden", c.name+".sh")
			if *update {
				if err := os.WriteFile(golden, []byte(script), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (regenerate with: make golden)", err)
			}
			if string(want) != script {
				t.Errorf("%s differs from the rendered script (if the change is intended: make golden, and review the diff)\n--- want\n%s\n--- got\n%s", golden, want, script)
			}
		})
	}
}

func TestGoldenFidelity(t *testing.T) {
	for _, c := range loadCases(t) {
		t.Run(c.name, func(t *testing.T) {
			var args []string
			for _, a := range c.args {
				if a != "--dry-run" && a != "-n" {
					args = append(args, a)
				}
			}
			fidelity.Check(t, c.setup, c.world, args...)
		})
	}
}

func TestGoldenShellcheck(t *testing.T) {
	sc, err := exec.LookPath("shellcheck")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("shellcheck is not installed (.ci/run installs it)")
		}
		t.Skip("shellcheck is not installed; skipping (CI runs it)")
	}
	files, _ := filepath.Glob("../testdata/golden/*.sh")
	if len(files) == 0 {
		t.Fatal("no golden scripts")
	}
	out, err := exec.Command(sc, append([]string{"-s", "sh", "-S", "style"}, files...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("shellcheck -s sh: %v\n%s", err, out)
	}
}
