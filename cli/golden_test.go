package cli_test

import (
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/rogpeppe/go-internal/txtar"

	"github.com/npte/npte/internal/fidelity"
)

var update = flag.Bool("update", false, "rewrite the golden scripts in cli/testdata/*.txtar (make golden)")

// goldenDir holds the golden dry-run scripts: one txtar archive per verb
// family, its comment a testscript script, its files the scripts.
const goldenDir = "testdata"

// goldenCase is one npte command of a golden archive: the arguments (with
// --dry-run), the fidelity check's private state and its world.
type goldenCase struct {
	script string // the archive's name, without .txtar
	args   []string
	setup  fidelity.Setup
	links  []string // the interfaces of its world (fidelity.Links)
}

// name is the fidelity subtest's name: the world options and the
// arguments without --dry-run.
func (c goldenCase) name() string {
	words := c.opts()
	for _, a := range c.args {
		if a != "--dry-run" && a != "-n" {
			words = append(words, a)
		}
	}
	return c.script + "/" + strings.Join(words, " ")
}

// opts renders the state options back, for the subtest name.
func (c goldenCase) opts() []string {
	var out []string
	add := func(k string, v []string) {
		if len(v) > 0 {
			out = append(out, k+"="+strings.Join(v, ","))
		}
	}
	add("managed", c.setup.Managed)
	add("foreign", c.setup.Foreign)
	add("intents", c.setup.Intents)
	if c.setup.SudoUser != "" {
		out = append(out, "sudo="+c.setup.SudoUser)
	}
	return out
}

// parseGoldenCase reads the words of a golden archive's npte command:
//
//	npte [WORLD...] ARGS...
//
// ARGS are npte's arguments (with --dry-run). Each leading WORLD word
// sets up the fidelity check's private state: managed=a,b (namespaces
// with a marker), foreign=a,b (kernel namespaces without one),
// intents=a,b, links=ns/dev,... (interfaces that exist; host/dev for
// the host's), sudo=USER ($SUDO_USER). The golden render itself uses
// only sudo (a dry run looks at no state).
func parseGoldenCase(script string, words []string) (goldenCase, error) {
	c := goldenCase{script: script}
	for len(words) > 0 {
		k, v, ok := strings.Cut(words[0], "=")
		list := strings.Split(v, ",")
		switch {
		case !ok:
		case k == "managed":
			c.setup.Managed = list
		case k == "foreign":
			c.setup.Foreign = list
		case k == "intents":
			c.setup.Intents = list
		case k == "sudo":
			c.setup.SudoUser = v
		case k == "links":
			c.links = append(c.links, list...)
		default:
			ok = false
		}
		if !ok {
			break
		}
		words = words[1:]
	}
	if len(words) == 0 {
		return c, errors.New("usage: npte [managed=a,b] [foreign=a,b] [intents=a,b] [links=ns/dev,...] [sudo=USER] ARGS...")
	}
	c.args = words
	return c, nil
}

// runGoldenScripts runs every cli/testdata/*.txtar with testscript. Its
// npte command (see parseGoldenCase) renders in-process, as a user would
// in the default layout, and prints the script on stdout, which the
// archive's `cmp stdout NAME.sh` compares with its golden file; with
// -update, testscript rewrites the archive's file instead. It returns
// every npte command the scripts ran, for the fidelity check.
func runGoldenScripts(t *testing.T) []goldenCase {
	var mu sync.Mutex
	var cases []goldenCase
	t.Run("script", func(t *testing.T) {
		testscript.Run(t, testscript.Params{
			Dir:                goldenDir,
			UpdateScripts:      *update,
			RequireUniqueNames: true,
			Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
				"npte": func(ts *testscript.TestScript, neg bool, args []string) {
					c, err := parseGoldenCase(ts.Name(), args)
					ts.Check(err)
					mu.Lock()
					cases = append(cases, c)
					mu.Unlock()
					// DryRun needs a *testing.T only for temporary
					// directories and t.Fatal on a broken setup.
					stdout, stderr, code := fidelity.DryRun(t, c.setup, c.args...)
					_, _ = ts.Stdout().Write([]byte(stdout))
					_, _ = ts.Stderr().Write([]byte(stderr))
					if (code != 0) != neg {
						ts.Fatalf("npte %s: exit %d", strings.Join(c.args, " "), code)
					}
				},
			},
		})
	})
	if len(cases) == 0 && !t.Failed() {
		t.Fatalf("no npte command in %s/*.txtar", goldenDir)
	}
	// The archives ran in parallel: their cases in file order, each
	// archive's in its own order.
	sort.SliceStable(cases, func(i, j int) bool { return cases[i].script < cases[j].script })
	return cases
}

// TestGolden checks the dry-run script of every case in cli/testdata/*.txtar
// against its golden file (make golden rewrites them: go test ./cli -run
// '^TestGolden$' -update), then runs each case's fidelity check: the
// script, run by mvdan's interpreter, and the live executor run the same
// programs with the same stdin, exit in the same class and leave the same
// markers.
func TestGolden(t *testing.T) {
	cases := runGoldenScripts(t)
	t.Run("fidelity", func(t *testing.T) {
		for _, c := range cases {
			t.Run(c.name(), func(t *testing.T) {
				var args []string
				for _, a := range c.args {
					if a != "--dry-run" && a != "-n" {
						args = append(args, a)
					}
				}
				fidelity.Check(t, c.setup, fidelity.Links(c.links...), args...)
			})
		}
	})
}

// goldenScripts returns every golden script of cli/testdata/*.txtar, by
// file name.
func goldenScripts(t *testing.T) map[string][]byte {
	t.Helper()
	archives, err := filepath.Glob(filepath.Join(goldenDir, "*.txtar"))
	if err != nil || len(archives) == 0 {
		t.Fatalf("no golden archives in %s: %v", goldenDir, err)
	}
	scripts := map[string][]byte{}
	for _, a := range archives {
		ar, err := txtar.ParseFile(a)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range ar.Files {
			if strings.HasSuffix(f.Name, ".sh") {
				scripts[f.Name] = f.Data
			}
		}
	}
	return scripts
}

func TestGoldenShellcheck(t *testing.T) {
	sc, err := exec.LookPath("shellcheck")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("shellcheck is not installed (.ci/run installs it)")
		}
		t.Skip("shellcheck is not installed; skipping (CI runs it)")
	}
	dir := t.TempDir()
	var files []string
	for name, data := range goldenScripts(t) {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	if len(files) == 0 {
		t.Fatal("no golden scripts")
	}
	out, err := exec.Command(sc, append([]string{"-s", "sh", "-S", "style"}, files...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("shellcheck -s sh: %v\n%s", err, out)
	}
}
