package cli_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/user"
	"strings"
	"testing"

	"github.com/npte/npte/cli"
	"github.com/npte/npte/exec"
	"github.com/npte/npte/shell"
)

// argSep separates the words of one fuzz input; it rarely appears in real
// arguments, so the fuzzer can both split and join words.
const argSep = "\x1e"

// FuzzCLI feeds any argv to npte's parser and verbs: no panic, an exit
// code of 0, 1 or 2, a message on stderr for 1 and 2, and nothing run.
// npte believes it is not root (Euid 1000), so every state-changing verb
// either renders its script (--dry-run) or refuses; the state layout
// points at a directory that does not exist, so nothing can be written
// even by mistake; every program start is refused and, outside doctor's
// throwaway-namespace probes (unshare ...), fails the test.
func FuzzCLI(f *testing.F) {
	for _, s := range []string{
		"", "--help", "--version", "netns", "netns create demo --dry-run", "netns create -n demo",
		"netns create --dns 9.9.9.9 --dns 2001:db8::53 demo -n", "netns create --dns= demo -n",
		"netns destroy demo --dry-run", "netns list", "netns list --json",
		"netns connect a b -n", "netns connect a a -n", "netns assign-addr a if-b 10.0.0.1/24 -n",
		"netns assign-addr a if-b fe80::1%eth0/64 -n", "netns add-route a default 10.0.0.1 -n",
		"netns add-route --dev if-b a fd00::/64 fe80::1 -n", "netns run a -- id -u", "netns run -e A=B a -- sh -c 'echo $A'",
		"netns run -n --sandbox a -- true", "netns show a", "netns show -s link,addr a --json",
		"netem apply a if-b --delay 10ms -n", "netem apply a if-b --delay '10ms 2ms 25%' --distribution normal -n",
		"netem apply a if-b --loss 'gemodel 1% 10% 70% 0.1%' -n", "netem apply a if-b --rate 10mbit -n",
		"netem apply a if-b --direction ingress --rate 1mbit -n", "netem clear a if-b -n", "netem show a",
		"lab create -n", "lab destroy -n", "lab netem --profile 4g-bloated -n", "lab netem --list", "lab netem --profile nope -n",
		"gateway create a 10.200.0.0/24 eth0 -n", "gateway destroy a -n", "gateway create host 10.200.0.0/24 eth0 -n",
		"sudoers --user alice", "sudoers", "sudoers --user root --path /usr/local/sbin/npte", "doctor --json",
		"tutorial", "tutorial basics", "completion bash", "completion fish",
		"netns create a;b -n", "netns create -- -h", "netns create $(id) -n", "netns create a\nb -n",
		"netns create a\x00b -n", "netns create " + strings.Repeat("a", 5000) + " -n",
	} {
		f.Add(strings.ReplaceAll(s, " ", argSep))
	}
	f.Fuzz(func(t *testing.T, line string) {
		var args []string
		if line != "" {
			args = strings.Split(line, argSep)
		}
		var stdout, stderr bytes.Buffer
		block := func(c exec.Cmd) error {
			if len(c.Argv) == 0 || c.Argv[0] != "unshare" {
				t.Errorf("npte %q started %q", args, c.Argv)
			}
			return errors.New("blocked by FuzzCLI")
		}
		env := cli.Env{
			Args:   args,
			Stdin:  strings.NewReader(""),
			Stdout: &stdout,
			Stderr: &stderr,
			Getenv: func(k string) string {
				return map[string]string{"SUDO_USER": "alice", "USER": "alice", "TERM": "xterm"}[k]
			},
			Euid:    1000,
			Version: "fuzz",
			Layout:  shell.Layout{Root: "/nonexistent/npte-fuzz/run", RunNetns: "/nonexistent/npte-fuzz/netns"},
			Owner:   1000,
			Start:   func(_ context.Context, c exec.Cmd) error { return block(c) },
			Exec:    func(c exec.Cmd) error { return block(c) },
			Signals: make(chan os.Signal),
			LookupUser: func(name string) (*user.User, error) {
				if name == "alice" {
					return &user.User{Username: "alice", Uid: "1000", Gid: "1000", HomeDir: "/home/alice"}, nil
				}
				return nil, user.UnknownUserError(name)
			},
			Getwd: func() (string, error) { return "/home/alice/work", nil },
		}
		code := cli.Main(env)
		switch code {
		case 0:
		case 1, 2:
			if stderr.Len() == 0 {
				t.Errorf("npte %q: exit %d with no message", args, code)
			}
		default:
			t.Errorf("npte %q: exit %d, want 0, 1 or 2\nstderr: %s", args, code, stderr.String())
		}
		if _, err := os.Lstat("/nonexistent/npte-fuzz"); err == nil {
			t.Fatalf("npte %q wrote under the state layout", args)
		}
	})
}
