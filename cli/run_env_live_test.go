package cli_test

import (
	"os/exec"
	"sort"
	"strings"
	"testing"

	"github.com/npte/npte/internal/sandbox"
)

// TestLiveRunEnvScrubbed (issue 11 item 9): the command of netns run
// starts from an empty environment plus PATH, HOME, USER, LOGNAME, TERM
// and the -e pairs (env -i), live and from the dry-run script, whatever
// the environment npte or the script's shell were started with: a
// variable of the caller's (as `sudo -E` or a root shell passes on) never
// reaches the command, nor do the ones runuser adds (SHELL).
func TestLiveRunEnvScrubbed(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	_, home := wThrowawayUser(t, "npteuser")
	wOK(t, "netns", "create", "lab")
	caller := []string{"SUDO_USER=npteuser", "TERM=dumb", "NPTE_LEAK=from-the-caller", "SHELL=/bin/leak", "LANG=C.UTF-8"}
	want := []string{"HOME=" + home, "LOGNAME=npteuser", "PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin", "TERM=dumb", "USER=npteuser", "X=1"}
	sorted := func(out string) []string {
		lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
		sort.Strings(lines)
		return lines
	}

	live := wRun(t, caller, "", "netns", "run", "-e", "X=1", "lab", "--", "env")
	if got := sorted(live.stdout); live.code != 0 || strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("live: exit %d, environment\n%q\nwant\n%q\n%s", live.code, got, want, live.stderr)
	}

	script := wRun(t, caller, "", "netns", "run", "--dry-run", "-e", "X=1", "lab", "--", "env")
	if script.code != 0 {
		t.Fatalf("--dry-run: exit %d: %s", script.code, script.stderr)
	}
	dash := exec.Command("dash", "-s")
	dash.Stdin = strings.NewReader(script.stdout)
	dash.Env = append([]string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}, caller...)
	fromScript := wFinish(t, dash)
	if got := sorted(fromScript.stdout); fromScript.code != 0 || strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("dry-run | dash: exit %d, environment\n%q\nwant\n%q\n%s", fromScript.code, got, want, fromScript.stderr)
	}
}
