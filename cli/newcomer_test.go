package cli_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/npte/npte/tutorial"
)

// TestReadOnlyVerbsWithoutRoot: a read-only verb run without root says
// that it only reads, why it needs root, and the command to run; not the
// state-changing verbs' "changes kernel state ... add --dry-run" (it
// changes nothing and takes no --dry-run). Nothing runs, nothing changes.
func TestReadOnlyVerbsWithoutRoot(t *testing.T) {
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"netem", "show", "router"}, []string{"netem show only reads and changes nothing", "qdiscs of namespace router (tc -n router) needs root", "run it with sudo: sudo npte netem show router\n"}},
		{[]string{"netem", "show", "--json", "router", "if-client"}, []string{"netem show only reads", "sudo npte netem show --json router if-client\n"}},
		{[]string{"netns", "show", "router"}, []string{"netns show only reads and changes nothing", "entering namespace router (ip netns exec router) needs root", "sudo npte netns show router\n"}},
	} {
		p := newNsInproc(t)
		p.env.Euid = 1000
		p.touch(p.layout().Marker("router"))
		before := p.tree()
		code := p.run(c.args...)
		e := p.stderr.String()
		if code != 2 || !strings.HasPrefix(e, "npte: ") || strings.Count(e, "\n") != 1 {
			t.Errorf("npte %q as a user: exit %d, stderr %q; want exit 2 and one npte: line", c.args, code, e)
		}
		for _, w := range c.want {
			if !strings.Contains(e, w) {
				t.Errorf("npte %q as a user: stderr %q lacks %q", c.args, e, w)
			}
		}
		for _, bad := range []string{"--dry-run", "changes kernel state"} {
			if strings.Contains(e, bad) {
				t.Errorf("npte %q as a user: stderr %q says %q, wrong for a read-only verb", c.args, e, bad)
			}
		}
		if len(p.calls) != 0 || p.tree() != before || p.stdout.Len() != 0 {
			t.Errorf("npte %q as a user did something: calls %v", c.args, p.calls)
		}
	}
}

// TestVersionVerb: `npte version` prints what `npte --version` prints.
func TestVersionVerb(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		p := newNsInproc(t)
		if code := p.run(args...); code != 0 || p.stdout.String() != "npte test\n" || p.stderr.Len() != 0 {
			t.Errorf("npte %q: exit %d, stdout %q, stderr %q", args, code, p.stdout.String(), p.stderr.String())
		}
	}
}

// TestHelpAndBare: bare `npte`, `npte help` and `npte --help` print the
// whole usage (exit 0, on stdout); `npte help VERB...` is `npte VERB...
// --help`.
func TestHelpAndBare(t *testing.T) {
	help := func(args ...string) (int, string, string) {
		p := newNsInproc(t)
		code := p.run(args...)
		if len(p.calls) != 0 {
			t.Errorf("npte %q ran %v", args, p.calls)
		}
		return code, p.stdout.String(), p.stderr.String()
	}
	_, usage, _ := help("--help")
	for _, w := range []string{"Usage: npte <command>", "Commands:", "netns create", "tutorial", "help", "version"} {
		if !strings.Contains(usage, w) {
			t.Errorf("npte --help lacks %q:\n%s", w, usage)
		}
	}
	for _, args := range [][]string{{}, {"help"}} {
		code, out, errs := help(args...)
		if code != 0 || out != usage || errs != "" {
			t.Errorf("npte %q: exit %d, stderr %q, stdout (want npte --help's):\n%s", args, code, errs, out)
		}
	}
	for _, verb := range [][]string{{"netns"}, {"netns", "create"}, {"netem", "apply"}, {"tutorial"}} {
		_, want, _ := help(append(append([]string(nil), verb...), "--help")...)
		code, out, errs := help(append([]string{"help"}, verb...)...)
		if code != 0 || out != want || errs != "" || !strings.Contains(out, "Usage: npte "+strings.Join(verb, " ")) {
			t.Errorf("npte help %q: exit %d, stderr %q, stdout:\n%s\nwant:\n%s", verb, code, errs, out, want)
		}
	}
}

// TestParseErrorsPointToVerbHelp: a command-line mistake names the
// --help of the verb it was made in.
func TestParseErrorsPointToVerbHelp(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"netns", "create"}, "(see 'npte netns create --help')"},
		{[]string{"netns", "create", "a", "b"}, "(see 'npte netns create --help')"},
		{[]string{"netns", "frobnicate"}, "(see 'npte netns --help')"},
		{[]string{"netem", "apply", "--delay"}, "(see 'npte netem apply --help')"},
		{[]string{"netem", "apply", "--bogus", "router", "if-x"}, "(see 'npte netem apply --help')"},
		{[]string{"frobnicate"}, "(see 'npte --help')"},
		{[]string{"help", "frobnicate"}, "(see 'npte --help')"},
	} {
		p := newNsInproc(t)
		code := p.run(c.args...)
		e := p.stderr.String()
		if code != 2 || !strings.HasPrefix(e, "npte: ") || strings.Count(e, "\n") != 1 || !strings.HasSuffix(e, c.want+"\n") {
			t.Errorf("npte %q: exit %d, stderr %q; want exit 2 and one line ending %q", c.args, code, e, c.want)
		}
	}
}

// TestTutorialNumbers: `npte tutorial N` reads the N-th chapter of the
// numbered list that `npte tutorial` prints.
func TestTutorialNumbers(t *testing.T) {
	p := newNsInproc(t)
	if code := p.run("tutorial"); code != 0 {
		t.Fatalf("npte tutorial: exit %d", code)
	}
	list := p.stdout.String()
	for i, ch := range tutorial.Chapters() {
		n := strconv.Itoa(i + 1)
		if !strings.Contains(list, "  "+n+". "+ch.Slug+" ") {
			t.Errorf("the list does not number %s as %s:\n%s", ch.Slug, n, list)
		}
		p := newNsInproc(t)
		if code := p.run("tutorial", n); code != 0 || p.stdout.String() != ch.Text {
			t.Errorf("npte tutorial %s: exit %d, stderr %q; want chapter %s", n, code, p.stderr.String(), ch.Slug)
		}
	}
	for _, bad := range []string{"0", strconv.Itoa(len(tutorial.Chapters()) + 1), "03", "+1", "1.0"} {
		p := newNsInproc(t)
		if code := p.run("tutorial", bad); code != 2 || !strings.Contains(p.stderr.String(), "the chapters are 1 to") || p.stdout.Len() != 0 {
			t.Errorf("npte tutorial %s: exit %d, stderr %q", bad, code, p.stderr.String())
		}
	}
}
