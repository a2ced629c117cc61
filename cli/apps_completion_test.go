package cli_test

import (
	"strings"
	"testing"

	"github.com/npte/npte/cli"
	"github.com/npte/npte/internal/fidelity"
	"github.com/npte/npte/registry"
)

// TestAppsCompletion: the new verbs and their flags complete from the
// kong model with no table to keep up to date, and --netns completes to
// managed namespaces.
func TestAppsCompletion(t *testing.T) {
	layout, bin := fidelity.StateRoot(t, "server")
	app := &cli.App{Env: cli.Env{Layout: layout, Dirs: []string{bin}, Version: "test"}, Registry: registry.New(layout, 0)}
	for line, want := range map[string]string{
		"npte ":                            "container gencerts",
		"npte container ":                  "boot create run",
		"npte container run --":            "--bind --capability --dry-run --netns",
		"npte container boot --netns ":     "server",
		"npte container create --variant ": "buildd minbase standard",
		"npte gencerts --":                 "--days --directory --dns-name --ip-addr",
	} {
		got, err := app.Completions(line)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range strings.Fields(want) {
			found := false
			for _, g := range got {
				found = found || g == w
			}
			if !found {
				t.Errorf("%q completes to %q, missing %q", line, got, w)
			}
		}
	}
}
