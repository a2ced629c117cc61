package shell_test

import (
	"go/build"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/npte/npte/"

// deps returns the npte packages that pkg (a directory of the module,
// relative to its root) imports, directly or not, outside tests.
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	seen := map[string]bool{}
	var walk func(dir string)
	walk = func(dir string) {
		p, err := build.ImportDir(filepath.Join("..", dir), 0)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		for _, imp := range p.Imports {
			if rel, ok := strings.CutPrefix(imp, module); ok && !seen[rel] {
				seen[rel] = true
				walk(rel)
			}
		}
	}
	walk(pkg)
	var out []string
	for p := range seen {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// TestInterpretersAreSiblings pins the import graph of issue 11: render
// and exec interpret the same plan and share only plan and shell; render
// does not need registry for the state layout; plan holds the step model
// and depends on neither interpreter; shell is a leaf.
func TestInterpretersAreSiblings(t *testing.T) {
	for _, c := range []struct {
		pkg       string
		forbidden []string
	}{
		{"render", []string{"exec", "registry", "netns", "cli"}},
		{"exec", []string{"render", "netns", "cli"}},
		{"plan", []string{"render", "exec", "registry", "netns", "cli"}},
		{"shell", []string{"plan", "render", "exec", "registry"}},
	} {
		t.Run(c.pkg, func(t *testing.T) {
			got := deps(t, c.pkg)
			for _, f := range c.forbidden {
				if slices.Contains(got, f) {
					t.Errorf("%s imports %s (directly or not); its npte imports: %v", c.pkg, f, got)
				}
			}
		})
	}
}
