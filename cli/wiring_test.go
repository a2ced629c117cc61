package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/user"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/npte/npte/cli"
	"github.com/npte/npte/exec"
	"github.com/npte/npte/internal/fidelity"
	"github.com/npte/npte/registry"
	"github.com/npte/npte/shell"
)

// TestWiringRefusals feeds each wiring verb bad input and checks the rule
// of npte: exit 2, one line on stderr naming the value, no program run, no
// state changed; and the same refusal with --dry-run, with no script.
func TestWiringRefusals(t *testing.T) {
	managed := []string{"a", "b"}
	for _, tc := range []struct {
		name string
		sudo string
		args []string
		want string // a fragment of the message
	}{
		// connect
		{"connect self", "", []string{"netns", "connect", "a", "a"}, "itself"},
		{"connect bad left", "", []string{"netns", "connect", "A", "b"}, `"A"`},
		{"connect bad right", "", []string{"netns", "connect", "a", "-h1"}, ""},
		{"connect 13 letters", "", []string{"netns", "connect", "a", "abcdefghijklm"}, "at most 12"},
		{"connect traversal", "", []string{"netns", "connect", "a", "../b"}, `"../b"`},
		// assign-addr: interface names
		{"iface 16 bytes", "", []string{"netns", "assign-addr", "a", "abcdefghijklmnop", "10.0.0.1/24"}, "at most 15 bytes"},
		{"iface slash", "", []string{"netns", "assign-addr", "a", "if/b", "10.0.0.1/24"}, `"if/b"`},
		{"iface colon", "", []string{"netns", "assign-addr", "a", "if-b:1", "10.0.0.1/24"}, `"if-b:1"`},
		{"iface space", "", []string{"netns", "assign-addr", "a", "if b", "10.0.0.1/24"}, `"if b"`},
		{"iface leading dash", "", []string{"netns", "assign-addr", "a", "--", "-if", "10.0.0.1/24"}, `"-if"`},
		{"iface hash", "", []string{"netns", "assign-addr", "a", "if#b", "10.0.0.1/24"}, `"if#b"`},
		{"iface newline", "", []string{"netns", "assign-addr", "a", "if\nb", "10.0.0.1/24"}, `"if\nb"`},
		{"iface dotdot", "", []string{"netns", "assign-addr", "a", "..", "10.0.0.1/24"}, `".."`},
		// assign-addr: CIDRs
		{"cidr /33", "", []string{"netns", "assign-addr", "a", "if-b", "10.0.0.1/33"}, `"10.0.0.1/33"`},
		{"cidr /129", "", []string{"netns", "assign-addr", "a", "if-b", "fd00::1/129"}, `"fd00::1/129"`},
		{"cidr no length", "", []string{"netns", "assign-addr", "a", "if-b", "10.0.0.1"}, `"10.0.0.1"`},
		{"cidr v6 zone", "", []string{"netns", "assign-addr", "a", "if-b", "fe80::1%if-b/64"}, "zone"},
		{"cidr mapped", "", []string{"netns", "assign-addr", "a", "if-b", "::ffff:10.0.0.1/120"}, "IPv4-mapped"},
		{"cidr shell", "", []string{"netns", "assign-addr", "a", "if-b", "10.0.0.1/24;reboot"}, "reboot"},
		// add-route
		{"route dest host bits", "", []string{"netns", "add-route", "a", "10.0.2.1/24", "10.0.3.1"}, "did you mean 10.0.2.0/24"},
		{"route dest /33", "", []string{"netns", "add-route", "a", "10.0.2.0/33", "10.0.3.1"}, `"10.0.2.0/33"`},
		{"route dest zone", "", []string{"netns", "add-route", "a", "fe80::%if-b/64", "fe80::1"}, "zone"},
		{"route dest word", "", []string{"netns", "add-route", "a", "Default", "10.0.3.1"}, `"Default"`},
		{"route via zone", "", []string{"netns", "add-route", "a", "default", "fe80::1%if-b"}, "zone"},
		{"route via prefix", "", []string{"netns", "add-route", "a", "default", "10.0.3.1/24"}, `"10.0.3.1/24"`},
		{"route family v4 via v6", "", []string{"netns", "add-route", "a", "10.0.2.0/24", "fd00::1"}, "one family"},
		{"route family v6 via v4", "", []string{"netns", "add-route", "a", "fd00:2::/64", "10.0.3.1"}, "one family"},
		{"route via multicast", "", []string{"netns", "add-route", "a", "default", "224.0.0.1"}, "unicast"},
		{"route via unspecified", "", []string{"netns", "add-route", "a", "default", "::"}, "unicast"},
		{"route link-local without dev", "", []string{"netns", "add-route", "a", "default", "fe80::1"}, "--dev"},
		{"route bad dev", "", []string{"netns", "add-route", "--dev", "if:b", "a", "default", "10.0.3.1"}, `"if:b"`},
		// run
		{"run without SUDO_USER", "", []string{"netns", "run", "a", "--", "id"}, "$SUDO_USER is not set"},
		{"run as root", "root", []string{"netns", "run", "a", "--", "id"}, "never runs a command as root"},
		{"run bad SUDO_USER", "Alice;id", []string{"netns", "run", "a", "--", "id"}, `"Alice;id"`},
		{"run SUDO_USER leading dash", "-alice", []string{"netns", "run", "a", "--", "id"}, `"-alice"`},
		{"run env key digit", "alice", []string{"netns", "run", "-e", "1X=y", "a", "--", "id"}, `"1X"`},
		{"run env key dash", "alice", []string{"netns", "run", "--env=-x=y", "a", "--", "id"}, `"-x"`},
		{"run env no =", "alice", []string{"netns", "run", "-e", "X", "a", "--", "id"}, "KEY=VALUE"},
		{"run env NUL", "alice", []string{"netns", "run", "-e", "X=a\x00b", "a", "--", "id"}, "NUL"},
		{"run no command", "alice", []string{"netns", "run", "a", "--"}, "missing command"},
		{"run command with =", "alice", []string{"netns", "run", "a", "--", "A=b", "id"}, "assignment"},
		{"run empty command", "alice", []string{"netns", "run", "a", "--", ""}, "empty"},
		{"run NUL in argument", "alice", []string{"netns", "run", "a", "--", "echo", "a\x00b"}, "NUL"},
		{"run unknown flag before command", "alice", []string{"netns", "run", "a", "--sandbx", "id"}, "--sandbx"},
		{"run bad name", "alice", []string{"netns", "run", "a;b", "--", "id"}, `"a;b"`},
		// show
		{"show unknown section", "", []string{"netns", "show", "--section", "links", "a"}, "link, addr, route, route6, qdisc, neigh, sockets, pids"},
		{"show bad name", "", []string{"netns", "show", "$(x)"}, `"$(x)"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			setup := fidelity.Setup{Managed: managed, SudoUser: tc.sudo}
			before := fidelity.Live(t, fidelity.Setup{Managed: managed}, fidelity.AllSucceed, "netns", "list").State
			r := fidelity.Live(t, setup, fidelity.AllSucceed, tc.args...)
			if r.Exit != 2 {
				t.Fatalf("exit %d, want 2\nstderr: %s", r.Exit, r.Stderr)
			}
			lines := strings.Split(strings.TrimSuffix(r.Stderr, "\n"), "\n")
			if len(lines) > 2 || len(lines) == 2 && !strings.Contains(lines[1], "--help") {
				t.Errorf("want one line on stderr, got:\n%s", r.Stderr)
			}
			if !strings.Contains(lines[0], tc.want) {
				t.Errorf("stderr %q does not mention %q", lines[0], tc.want)
			}
			if len(r.Events) != 0 {
				t.Errorf("programs ran: %v", r.Events)
			}
			if r.State != before {
				t.Errorf("state changed: %q -> %q", before, r.State)
			}
			if tc.args[1] == "show" {
				return // no --dry-run: read-only
			}
			args := append([]string{tc.args[0], tc.args[1], "--dry-run"}, tc.args[2:]...)
			out, errOut, code := fidelity.DryRun(t, setup, args...)
			if code != 2 || out != "" {
				t.Errorf("--dry-run: exit %d, stdout %q, stderr %q; want exit 2 and no script", code, out, errOut)
			}
		})
	}
}

// TestWiringAccepts is the other side of the adversarial table: odd but
// valid input passes, and the values reach the argv as given.
func TestWiringAccepts(t *testing.T) {
	links := func(argv []string) int { return 0 } // every probed interface exists
	noLinks := func(argv []string) int {
		if len(argv) > 4 && argv[0] == "ip" && argv[3] == "link" && argv[4] == "show" {
			return 1
		}
		return 0
	}
	for _, tc := range []struct {
		name  string
		sudo  string
		world fidelity.World
		args  []string
		want  string // the last program run, joined by spaces
	}{
		{"iface 15 bytes", "", links, []string{"netns", "assign-addr", "a", "abcdefghijklmno", "10.0.0.1/24"}, "ip -n a addr replace 10.0.0.1/24 dev abcdefghijklmno"},
		{"iface odd but valid", "", links, []string{"netns", "assign-addr", "a", "e.1_x@y+z", "10.0.0.1/24"}, "ip -n a addr replace 10.0.0.1/24 dev e.1_x@y+z"},
		{"cidr host bits", "", links, []string{"netns", "assign-addr", "a", "if-b", "10.0.0.77/24"}, "ip -n a addr replace 10.0.0.77/24 dev if-b"},
		{"cidr v6 uppercase", "", links, []string{"netns", "assign-addr", "a", "if-b", "FD00::1/64"}, "ip -n a addr replace fd00::1/64 dev if-b nodad"},
		{"cidr /32", "", links, []string{"netns", "assign-addr", "a", "if-b", "10.0.0.1/32"}, "ip -n a addr replace 10.0.0.1/32 dev if-b"},
		{"route /0", "", links, []string{"netns", "add-route", "a", "0.0.0.0/0", "10.0.3.1"}, "ip -n a route replace 0.0.0.0/0 via 10.0.3.1"},
		{"route v6 default", "", links, []string{"netns", "add-route", "a", "default", "fd00:3::1"}, "ip -n a -6 route replace default via fd00:3::1"},
		{"route link-local with dev", "", links, []string{"netns", "add-route", "--dev", "if-b", "a", "default", "fe80::1"}, "ip -n a -6 route replace default via fe80::1 dev if-b"},
		{"connect", "", noLinks, []string{"netns", "connect", "b", "a"}, "ip -n a link set dev if-b up"},
		{"env A=B=C", "alice", links, []string{"netns", "run", "-e", "A=B=C", "-e", "_x1=", "a", "--", "printenv", "A"}, " TERM=xterm A=B=C _x1= printenv A"},
		{"env with commas", "alice", links, []string{"netns", "run", "--env", "L=a,b,c", "a", "--", "printenv"}, " TERM=xterm L=a,b,c printenv"},
		{"options after the command are the command's", "alice", links, []string{"netns", "run", "a", "ls", "-e", "X=1", "--sandbox", "-n"}, " TERM=xterm ls -e X=1 --sandbox -n"},
		{"a second -- is the command's", "alice", links, []string{"netns", "run", "a", "--", "--", "x"}, " TERM=xterm -- x"},
		{"dash command", "alice", links, []string{"netns", "run", "a", "--", "-x", "y"}, " TERM=xterm -x y"},
		{"flags between name and --", "alice", links, []string{"netns", "run", "a", "-e", "K=v", "--sandbox", "--", "id"}, "K=v id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			setup := fidelity.Setup{Managed: []string{"a", "b"}, SudoUser: tc.sudo}
			var r fidelity.Result
			if tc.args[1] == "run" && !slices.Contains(tc.args, "--") {
				// fidelity.Script appends --dry-run, which would become
				// an argument of the command: check live, and that the
				// script (with --dry-run before NS) ends the same way.
				r = fidelity.Live(t, setup, tc.world, tc.args...)
				dry := append([]string{"netns", "run", "--dry-run"}, tc.args[2:]...)
				script, _, code := fidelity.DryRun(t, setup, dry...)
				// The handoff is the last line inside the lock's group,
				// before the group's closing "} 9>>LOCK".
				lines := strings.Split(strings.TrimSpace(script), "\n")
				last := strings.TrimSpace(lines[max(0, len(lines)-2)])
				quoted, _ := shell.Argv(strings.Fields(tc.want))
				if code != 0 || !strings.HasSuffix(last, " "+quoted) {
					t.Errorf("--dry-run: exit %d, last line %q", code, last)
				}
			} else {
				r = fidelity.Check(t, setup, tc.world, tc.args...)
			}
			if r.Exit != 0 {
				t.Fatalf("exit %d: %s", r.Exit, r.Stderr)
			}
			last := strings.Join(r.Events[len(r.Events)-1].Argv, " ")
			if !strings.HasSuffix(last, tc.want) {
				t.Errorf("last program:\n %q\nwant suffix %q", last, tc.want)
			}
		})
	}
}

// TestRunCommandFidelity: the user's command, the one unvalidated value
// that reaches an argv, runs identically from the rendered script and
// live, whatever it holds.
func TestRunCommandFidelity(t *testing.T) {
	for _, cmd := range [][]string{
		{"sh", "-c", `echo "it's" 'quoted' \back\slash`},
		{"printf", "%s\n", "#not a comment", "a # b", "#"},
		{"echo", "$(id -u)", "`id -u`", "${HOME}", "$HOME", "$$", "$?", "$0"},
		{"sh", "-c", "echo one\necho two\n\nexit 3"},
		{"echo", "tab\there", "cr\rhere", "esc\x1bhere", "bell\a", "\x7f"},
		{"echo", "", "  ", "'", `"`, `\`, "'\"'\"'"},
		{"echo", "; rm -rf /", "&& reboot", "| cat", "> /etc/passwd", "< /dev/null", "&"},
		{"echo", "*", "?", "[a-z]", "~", "~root", "{a,b}", "!"},
		{"echo", "ünïcödé", "日本語", "emoji 🙂"},
		{"echo", "NPTE_EOF", "EOF", "--", "-e", "-n"},
		{"/usr/bin/env", "X=1"},
		{"./my prog", "arg"},
	} {
		t.Run(fmt.Sprintf("%q", cmd), func(t *testing.T) {
			args := append([]string{"netns", "run", "-e", "V=$(x) `y` #z\nw", "a", "--"}, cmd...)
			r := fidelity.Check(t, fidelity.Setup{Managed: []string{"a"}, SudoUser: "alice"}, fidelity.AllSucceed, args...)
			if r.Exit != 0 {
				t.Fatalf("exit %d: %s", r.Exit, r.Stderr)
			}
			argv := r.Events[len(r.Events)-1].Argv
			if got := argv[len(argv)-len(cmd):]; !reflect.DeepEqual(got, cmd) {
				t.Errorf("command reached the argv as %q, want %q", got, cmd)
			}
		})
	}
}

// TestRunCommandInvalidUTF8: a command word in another encoding (a
// Latin-1 file name) reaches the command byte for byte, live and in the
// script (mvdan's parser refuses invalid UTF-8, so the live sandbox test
// runs that script through dash instead of interp). Before the command,
// invalid UTF-8 is refused rather than altered.
func TestRunCommandInvalidUTF8(t *testing.T) {
	setup := fidelity.Setup{Managed: []string{"a"}, SudoUser: "alice"}
	word := "caf\xe9 \xff\xfe"
	r := fidelity.Live(t, setup, fidelity.AllSucceed, "netns", "run", "a", "--", "cat", word)
	if r.Exit != 0 {
		t.Fatalf("exit %d: %s", r.Exit, r.Stderr)
	}
	if argv := r.Events[len(r.Events)-1].Argv; argv[len(argv)-1] != word {
		t.Errorf("the command got %q, want %q", argv[len(argv)-1], word)
	}
	script, _, code := fidelity.DryRun(t, setup, "netns", "run", "--dry-run", "a", "--", "cat", word)
	if code != 0 || !strings.Contains(script, "exec ip netns exec a ") || !strings.Contains(script, "\xe9") || !strings.Contains(script, "\xff\xfe") || strings.Contains(script, "\ufffd") {
		t.Errorf("exit %d, script:\n%s", code, script)
	}
	r = fidelity.Live(t, setup, fidelity.AllSucceed, "netns", "run", "-e", "X=\xff", "a", "--", "cat")
	if r.Exit != 2 || !strings.Contains(r.Stderr, "valid UTF-8") || len(r.Events) != 0 {
		t.Errorf("-e with invalid UTF-8: exit %d, %s", r.Exit, r.Stderr)
	}
}

// TestWiringGuardFidelity: refusals that need the system's answer (a link
// that exists, an interface that does not, a namespace without a marker)
// happen in the script's guards exactly as live, before any change.
func TestWiringGuardFidelity(t *testing.T) {
	exists := func(argv []string) int { return 0 }
	missing := func(argv []string) int {
		if len(argv) > 4 && argv[3] == "link" && argv[4] == "show" {
			return 1
		}
		return 0
	}
	for _, tc := range []struct {
		name  string
		setup fidelity.Setup
		world fidelity.World
		args  []string
	}{
		{"connect already connected", fidelity.Setup{Managed: []string{"a", "b"}}, exists, []string{"netns", "connect", "a", "b"}},
		{"connect unmanaged right", fidelity.Setup{Managed: []string{"a"}, Foreign: []string{"b"}}, missing, []string{"netns", "connect", "a", "b"}},
		{"connect intent only", fidelity.Setup{Managed: []string{"a"}, Intents: []string{"b"}}, missing, []string{"netns", "connect", "a", "b"}},
		{"assign-addr no such iface", fidelity.Setup{Managed: []string{"a"}}, missing, []string{"netns", "assign-addr", "a", "if-b", "10.0.0.1/24"}},
		{"assign-addr unmanaged", fidelity.Setup{Foreign: []string{"a"}}, exists, []string{"netns", "assign-addr", "a", "if-b", "10.0.0.1/24"}},
		{"add-route no such dev", fidelity.Setup{Managed: []string{"a"}}, missing, []string{"netns", "add-route", "--dev", "if-b", "a", "default", "10.0.0.1"}},
		{"add-route unmanaged", fidelity.Setup{}, exists, []string{"netns", "add-route", "a", "default", "10.0.0.1"}},
		{"run unmanaged", fidelity.Setup{Foreign: []string{"a"}, SudoUser: "alice"}, exists, []string{"netns", "run", "a", "--", "id"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := fidelity.Check(t, tc.setup, tc.world, tc.args...)
			if r.Exit != 2 {
				t.Fatalf("exit %d, want 2: %s", r.Exit, r.Stderr)
			}
			for _, e := range r.Events {
				if !(len(e.Argv) > 4 && e.Argv[3] == "link" && e.Argv[4] == "show") {
					t.Errorf("a program other than a probe ran: %v", e)
				}
			}
		})
	}
}

// TestConnectStepFailure: a failing ip link add (the second namespace
// vanished behind npte's back) stops the plan with exit 1, says nothing
// was changed, and brings nothing up.
func TestConnectStepFailure(t *testing.T) {
	w := func(argv []string) int {
		if len(argv) > 2 && argv[1] == "link" && argv[2] == "add" {
			return 255 // what ip exits with for a netns that is gone
		}
		if len(argv) > 4 && argv[3] == "link" && argv[4] == "show" {
			return 1
		}
		return 0
	}
	r := fidelity.Check(t, fidelity.Setup{Managed: []string{"a", "b"}}, w, "netns", "connect", "a", "b")
	if r.Exit != 1 {
		t.Fatalf("exit %d, want 1: %s", r.Exit, r.Stderr)
	}
	if !strings.Contains(r.Stderr, "ip link add name if-b netns a group 28272 type veth peer name if-a netns b group 28272") || !strings.Contains(r.Stderr, "nothing was changed") {
		t.Errorf("stderr does not name the step and say nothing changed:\n%s", r.Stderr)
	}
	if last := r.Events[len(r.Events)-1].Argv; last[2] != "add" {
		t.Errorf("ran after the failure: %v", r.Events)
	}
}

// wFakeEnv is a live cli.Env whose programs are answered by answer: what
// they print and their exit status. It records the argv of every run.
type wFakeEnv struct {
	env    cli.Env
	stdout bytes.Buffer
	stderr bytes.Buffer
	mu     sync.Mutex
	calls  [][]string
}

func newWFakeEnv(t *testing.T, managed []string, answer func(argv []string) (string, int), args ...string) *wFakeEnv {
	t.Helper()
	layout, bin := fidelity.StateRoot(t, managed...)
	f := &wFakeEnv{}
	f.env = cli.Env{
		Args:    args,
		Stdin:   strings.NewReader(""),
		Stdout:  &f.stdout,
		Stderr:  &f.stderr,
		Getenv:  func(string) string { return "" },
		Euid:    0,
		Version: "test",
		Layout:  layout,
		Owner:   os.Getuid(),
		Dirs:    []string{bin},
		Start: func(_ context.Context, c exec.Cmd) error {
			f.mu.Lock()
			f.calls = append(f.calls, c.Argv)
			f.mu.Unlock()
			out, code := answer(c.Argv)
			_, _ = io.WriteString(c.Stdout, out)
			if code != 0 {
				return wExitCode(code)
			}
			return nil
		},
		Exec:       func(c exec.Cmd) error { return fmt.Errorf("unexpected hand-off %v", c.Argv) },
		LookupUser: user.Lookup,
		UserGroups: func(u *user.User) ([]string, error) { return []string{u.Gid}, nil },
		Getwd:      os.Getwd,
	}
	return f
}

type wExitCode int

func (e wExitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }
func (e wExitCode) ExitCode() int { return int(e) }

func (f *wFakeEnv) run() int { return cli.Main(f.env) }

// wShowAnswer prints a recognisable output per section.
func wShowAnswer(argv []string) (string, int) {
	j := strings.Join(argv, " ")
	switch {
	case strings.Contains(j, " -j ") && strings.HasPrefix(j, "ip -n demo -j link"):
		return `[{"ifname":"lo"}]` + "\n", 0
	case strings.Contains(j, " -j "):
		return "[ ]\n", 0
	case strings.HasPrefix(j, "ss -N demo -H"):
		return "tcp LISTEN 0      5      0.0.0.0:5201 0.0.0.0:* users:((\"my server\",pid=42,fd=3))\nudp UNCONN 0 0 [::]:53 [::]:*\n", 0
	case strings.HasPrefix(j, "ip netns pids"):
		return "42\n4242\n", 0
	case strings.HasPrefix(j, "ip netns exec demo id -u -- "), strings.HasPrefix(j, "ip netns exec demo id -G -- "):
		return "1000\n", 0 // netns run's check of the user inside demo
	}
	return "output of " + j + "\n", 0
}

func TestShowText(t *testing.T) {
	f := newWFakeEnv(t, []string{"demo"}, wShowAnswer, "netns", "show", "demo")
	if code := f.run(); code != 0 {
		t.Fatalf("exit %d: %s", code, f.stderr.String())
	}
	want := `=== link ===
output of ip -n demo link show

=== addr ===
output of ip -n demo addr show

=== route ===
output of ip -n demo route show

=== route6 ===
output of ip -n demo -6 route show

=== qdisc ===
output of tc -n demo -s qdisc show

=== neigh ===
output of ip -n demo neigh show

=== sockets ===
output of ss -N demo -tunlp

=== pids ===
42
4242
`
	if got := f.stdout.String(); got != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", got, want)
	}
	// Every command is echoed, in section order, on stderr.
	lines := strings.Split(strings.TrimSpace(f.stderr.String()), "\n")
	if len(lines) != 8 || lines[0] != "+ ip -n demo link show" || lines[7] != "+ ip netns pids demo" {
		t.Errorf("stderr:\n%s", f.stderr.String())
	}
	// No ip netns exec: ip, tc and ss enter the namespace themselves.
	for _, c := range f.calls {
		if len(c) > 2 && c[1] == "netns" && c[2] == "exec" {
			t.Errorf("ran %v", c)
		}
	}
}

func TestShowSections(t *testing.T) {
	f := newWFakeEnv(t, []string{"demo"}, wShowAnswer, "netns", "show", "--section", "pids", "-s", "route6,link", "--section", "link", "demo")
	if code := f.run(); code != 0 {
		t.Fatalf("exit %d: %s", code, f.stderr.String())
	}
	want := "=== link ===\noutput of ip -n demo link show\n\n=== route6 ===\noutput of ip -n demo -6 route show\n\n=== pids ===\n42\n4242\n"
	if got := f.stdout.String(); got != want {
		t.Errorf("stdout:\n%q\nwant:\n%q", got, want)
	}
	if len(f.calls) != 3 {
		t.Errorf("ran %d programs, want 3: %v", len(f.calls), f.calls)
	}
}

func TestShowJSON(t *testing.T) {
	f := newWFakeEnv(t, []string{"demo"}, wShowAnswer, "netns", "show", "--json", "demo")
	if code := f.run(); code != 0 {
		t.Fatalf("exit %d: %s", code, f.stderr.String())
	}
	out := f.stdout.String()
	if !strings.HasPrefix(out, `{"link":[{"ifname":"lo"}],"addr":[],"route":[],"route6":[],"qdisc":[],"neigh":[],"sockets":[`) || strings.Count(out, "\n") != 1 {
		t.Errorf("stdout: %s", out)
	}
	var v struct {
		Sockets []cli.Socket `json:"sockets"`
		Pids    []int        `json:"pids"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatal(err)
	}
	wantSocks := []cli.Socket{
		{Netid: "tcp", State: "LISTEN", RecvQ: 0, SendQ: 5, Local: "0.0.0.0:5201", Peer: "0.0.0.0:*", Process: `users:(("my server",pid=42,fd=3))`},
		{Netid: "udp", State: "UNCONN", Local: "[::]:53", Peer: "[::]:*"},
	}
	if !reflect.DeepEqual(v.Sockets, wantSocks) {
		t.Errorf("sockets = %+v", v.Sockets)
	}
	if !reflect.DeepEqual(v.Pids, []int{42, 4242}) {
		t.Errorf("pids = %v", v.Pids)
	}
	for _, c := range f.calls {
		if c[0] == "ip" && c[1] == "-n" && c[3] != "-j" {
			t.Errorf("--json ran %v without -j", c)
		}
	}
}

// A failing section is reported and the others are still printed.
func TestShowSectionFails(t *testing.T) {
	answer := func(argv []string) (string, int) {
		if argv[0] == "ss" {
			return "", 1
		}
		return wShowAnswer(argv)
	}
	for _, js := range []bool{false, true} {
		args := []string{"netns", "show", "-s", "sockets,pids", "demo"}
		if js {
			args = append(args, "--json")
		}
		f := newWFakeEnv(t, []string{"demo"}, answer, args...)
		if code := f.run(); code != 1 {
			t.Fatalf("exit %d, want 1", code)
		}
		if !strings.Contains(f.stderr.String(), "failed: sockets") {
			t.Errorf("stderr: %s", f.stderr.String())
		}
		want := "=== sockets ===\n\n=== pids ===\n42\n4242\n"
		if js {
			want = `{"sockets":[],"pids":[42,4242],"errors":{"sockets":"exit status 1"}}` + "\n"
		}
		if got := f.stdout.String(); got != want {
			t.Errorf("stdout %q, want %q", got, want)
		}
	}
}

func TestShowRefusals(t *testing.T) {
	for _, tc := range []struct {
		name    string
		managed []string
		euid    int
		want    string
	}{
		{"unmanaged", nil, 0, "not managed by npte"},
		{"not root", []string{"demo"}, 1000, "needs root"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newWFakeEnv(t, tc.managed, wShowAnswer, "netns", "show", "demo")
			f.env.Euid = tc.euid
			if code := f.run(); code != 2 {
				t.Fatalf("exit %d, want 2: %s", code, f.stderr.String())
			}
			if !strings.Contains(f.stderr.String(), tc.want) || len(f.calls) != 0 || f.stdout.Len() != 0 {
				t.Errorf("stderr %q, calls %v, stdout %q", f.stderr.String(), f.calls, f.stdout.String())
			}
		})
	}
}

// TestRunUserChecks covers the $SUDO_USER resolutions fidelity's world
// cannot express: an unknown user, a uid-0 alias of root, odd home
// directories, odd TERM values.
func TestRunUserChecks(t *testing.T) {
	for _, tc := range []struct {
		name   string
		user   *user.User
		term   string
		cwd    string
		args   []string
		code   int
		want   string // fragment of stderr (code 2) or of the hand-off argv (code 0)
		absent string // must not be in the hand-off argv
	}{
		{"unknown user", nil, "", "/w", nil, 2, "no such user", ""},
		{"uid 0 alias", &user.User{Username: "toor", Uid: "0", HomeDir: "/root"}, "", "/w", nil, 2, "uid 0", ""},
		{"uid 0 written 00", &user.User{Username: "toor", Uid: "00", HomeDir: "/root"}, "", "/w", nil, 2, "uid 0", ""},
		{"uid not a number", &user.User{Username: "toor", Uid: "x", HomeDir: "/root"}, "", "/w", nil, 2, "invalid uid", ""},
		{"relative home", &user.User{Username: "alice", Uid: "1000", Gid: "1000", HomeDir: "home/alice"}, "", "/w", nil, 2, "home directory", ""},
		{"no home", &user.User{Username: "alice", Uid: "1000", Gid: "1000", HomeDir: ""}, "", "/w", nil, 0, " HOME=/ ", ""},
		{"good term", &user.User{Username: "alice", Uid: "1000", Gid: "1000", HomeDir: "/home/alice"}, "xterm-256color", "/w", nil, 0, " TERM=xterm-256color ", ""},
		{"odd term dropped", &user.User{Username: "alice", Uid: "1000", Gid: "1000", HomeDir: "/home/alice"}, "x;id", "/w", nil, 0, " LOGNAME=alice id", "TERM="},
		{"sandbox in /", &user.User{Username: "alice", Uid: "1000", Gid: "1000", HomeDir: "/home/alice"}, "", "/", []string{"--sandbox"}, 2, "it is /", ""},
		{"sandbox in /tmp", &user.User{Username: "alice", Uid: "1000", Gid: "1000", HomeDir: "/home/alice"}, "", "/tmp", []string{"--sandbox"}, 2, "is under /tmp", ""},
		{"sandbox under /tmp", &user.User{Username: "alice", Uid: "1000", Gid: "1000", HomeDir: "/home/alice"}, "", "/tmp/work", []string{"--sandbox"}, 2, "is under /tmp", ""},
		{"sandbox under /proc", &user.User{Username: "alice", Uid: "1000", Gid: "1000", HomeDir: "/home/alice"}, "", "/proc/self", []string{"--sandbox"}, 2, "is under /proc", ""},
		{"sandbox in /tmpfoo", &user.User{Username: "alice", Uid: "1000", Gid: "1000", HomeDir: "/home/alice"}, "", "/tmpfoo", []string{"--sandbox"}, 0, "--bind /tmpfoo /tmpfoo", ""},
		{"sandbox unclean cwd", &user.User{Username: "alice", Uid: "1000", Gid: "1000", HomeDir: "/home/alice"}, "", "/w/../x", []string{"--sandbox"}, 2, "working directory", ""},
		{"sandbox cwd", &user.User{Username: "alice", Uid: "1000", Gid: "1000", HomeDir: "/home/alice"}, "", "/home/alice/my lab", []string{"--sandbox"}, 0, " --bind /home/alice/my lab /home/alice/my lab --chdir /home/alice/my lab ", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{"netns", "run"}, tc.args...), "demo", "--", "id")
			f := newWFakeEnv(t, []string{"demo"}, wShowAnswer, args...)
			var handed []string
			f.env.Exec = func(c exec.Cmd) error { handed = c.Argv; return nil }
			name := "alice"
			if tc.user != nil {
				name = tc.user.Username
			}
			f.env.Getenv = func(k string) string {
				return map[string]string{"SUDO_USER": name, "TERM": tc.term}[k]
			}
			f.env.LookupUser = func(n string) (*user.User, error) {
				if tc.user == nil || n != tc.user.Username {
					return nil, user.UnknownUserError(n)
				}
				return tc.user, nil
			}
			f.env.Getwd = func() (string, error) { return tc.cwd, nil }
			code := f.run()
			if code != tc.code {
				t.Fatalf("exit %d, want %d: %s", code, tc.code, f.stderr.String())
			}
			if code == 2 {
				if !strings.Contains(f.stderr.String(), tc.want) || handed != nil {
					t.Errorf("stderr %q, hand-off %q", f.stderr.String(), handed)
				}
				return
			}
			j := strings.Join(handed, " ")
			if !strings.Contains(j, tc.want) || tc.absent != "" && strings.Contains(j, tc.absent) {
				t.Errorf("hand-off %q: want %q, not %q", j, tc.want, tc.absent)
			}
		})
	}
}

// The lock is released before the hand-off: another npte can take it
// while the command runs.
func TestRunReleasesLockBeforeHandoff(t *testing.T) {
	f := newWFakeEnv(t, []string{"demo"}, wShowAnswer, "netns", "run", "demo", "--", "sleep", "1000")
	f.env.Getenv = func(k string) string { return map[string]string{"SUDO_USER": "alice"}[k] }
	f.env.LookupUser = func(n string) (*user.User, error) {
		return &user.User{Username: n, Uid: "1000", Gid: "1000", HomeDir: "/home/" + n}, nil
	}
	locked := true
	f.env.Exec = func(c exec.Cmd) error {
		reg := registry.New(f.env.Layout, f.env.Owner)
		ctx, cancel := context.WithTimeout(context.Background(), 0)
		defer cancel()
		if unlock, err := reg.Lock(ctx); err == nil {
			locked = false
			unlock()
		}
		return nil
	}
	if code := f.run(); code != 0 {
		t.Fatalf("exit %d: %s", code, f.stderr.String())
	}
	if locked {
		t.Error("the npte lock was still held when the command started")
	}
}

func TestRunHelpNamesTheRules(t *testing.T) {
	for _, verb := range []string{"connect", "assign-addr", "add-route", "run", "show"} {
		f := newWFakeEnv(t, nil, wShowAnswer, "netns", verb, "--help")
		if code := f.run(); code != 0 {
			t.Fatalf("%s --help: exit %d", verb, code)
		}
		if !strings.Contains(f.stdout.String(), "Refuses (exit 2") {
			t.Errorf("netns %s --help does not say what it refuses:\n%s", verb, f.stdout.String())
		}
	}
}
