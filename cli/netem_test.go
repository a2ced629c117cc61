package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/npte/npte/cli"
	"github.com/npte/npte/exec"
	"github.com/npte/npte/internal/fidelity"
	"github.com/npte/npte/shape"
)

// nmEnv runs npte live in a private layout where programs are answered
// by answer (their stdout and exit status) and recorded.
type nmEnv struct {
	env            cli.Env
	stdout, stderr bytes.Buffer
	calls          []string
}

type nmExit int

func (e nmExit) Error() string { return fmt.Sprintf("exit status %d", int(e)) }
func (e nmExit) ExitCode() int { return int(e) }

func newNmEnv(t *testing.T, managed []string, answer func(argv []string) (string, int)) *nmEnv {
	t.Helper()
	layout, bin := fidelity.StateRoot(t, managed...)
	e := &nmEnv{}
	e.env = cli.Env{
		Stdin: strings.NewReader(""), Stdout: &e.stdout, Stderr: &e.stderr,
		Getenv: func(string) string { return "" }, Euid: 0, Version: "test",
		Layout: layout, Owner: os.Getuid(), Dirs: []string{bin},
		Start: func(_ context.Context, c exec.Cmd) error {
			e.calls = append(e.calls, strings.Join(c.Argv, " "))
			out, code := answer(c.Argv)
			_, _ = io.WriteString(c.Stdout, out)
			if code != 0 {
				return nmExit(code)
			}
			return nil
		},
		Exec: func(c exec.Cmd) error { return fmt.Errorf("unexpected hand-off %v", c.Argv) },
	}
	return e
}

func (e *nmEnv) run(args ...string) int {
	e.env.Args = args
	return cli.Main(e.env)
}

func TestNetemRefusals(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"netem", "apply", "--delay", "10ms; reboot", "router", "if-client"}, `invalid --delay value "10ms; reboot"`},
		{[]string{"netem", "apply", "--delay", "$(reboot)", "router", "if-client"}, "may contain only"},
		{[]string{"netem", "apply", "--delay", "10ms\nreboot", "router", "if-client"}, "must be on one line"},
		{[]string{"netem", "apply", "--delay", "10ms # x", "router", "if-client"}, "may contain only"},
		{[]string{"netem", "apply", "--loss", "101%", "router", "if-client"}, "above 100%"},
		{[]string{"netem", "apply", "--delay", "10ms", "--distribution", "normal", "router", "if-client"}, "needs a jitter"},
		{[]string{"netem", "apply", "--delay", "10ms distribution normal", "router", "if-client"}, "needs a jitter"},
		{[]string{"netem", "apply", "--reorder", "5%", "router", "if-client"}, "needs --delay"},
		{[]string{"netem", "apply", "--rate", "10mbps", "router", "if-client"}, "BYTES per second"},
		{[]string{"netem", "apply", "--delay", "1ms", "--rate", "1mbit", "--child", "cake", "router", "if-client"}, "cannot be combined with --child"},
		{[]string{"netem", "apply", "--child", "pfifo", "router", "if-client"}, "must be cake, tbf or fq_codel"},
		{[]string{"netem", "apply", "--child", "tbf", "router", "if-client"}, "needs --child-rate"},
		{[]string{"netem", "apply", "--delay", "", "router", "if-client"}, "must not be empty"},
		{[]string{"netem", "apply", "router", "if-client"}, "needs at least one of"},
		{[]string{"netem", "apply", "--direction", "sideways", "--delay", "1ms", "router", "if-client"}, "must be egress, ingress or both"},
		{[]string{"netem", "apply", "--delay", "1ms", "Router", "if-client"}, "namespace name"},
		{[]string{"netem", "apply", "--delay", "1ms", "router", "if;client"}, "interface name"},
		{[]string{"netem", "apply", "--delay", "1ms", "router", "averyveryverylongname"}, "interface name"},
		{[]string{"netem", "clear", "router", "-x"}, ""},
		{[]string{"netem", "clear", "--direction", "up", "router", "if-client"}, "must be egress"},
		{[]string{"netem", "show", "Router"}, "namespace name"},
		{[]string{"netem", "show", "router", "a/b"}, "interface name"},
		{[]string{"lab", "netem", "--profile", "lte"}, "must be one of 3g, 4g-bloated, 4g-managed, cable, dsl, edge, satellite, wifi"},
		{[]string{"lab", "netem", "--profile", "4g;reboot"}, "invalid profile"},
		{[]string{"lab", "create", "extra"}, ""},
	}
	for _, c := range cases {
		for _, dry := range []bool{false, true} {
			args := c.args
			if dry {
				args = append(append([]string{}, args[:2]...), append([]string{"--dry-run"}, args[2:]...)...)
				if args[1] == "show" {
					continue
				}
			}
			e := newNmEnv(t, []string{"router"}, func([]string) (string, int) { return "", 0 })
			code := e.run(args...)
			if code != 2 {
				t.Errorf("npte %q: exit %d, want 2\n%s", args, code, e.stderr.String())
				continue
			}
			if !strings.Contains(e.stderr.String(), c.want) {
				t.Errorf("npte %q: stderr %q lacks %q", args, e.stderr.String(), c.want)
			}
			if n := strings.Count(strings.TrimSpace(e.stderr.String()), "\n"); c.want != "" && n != 0 {
				t.Errorf("npte %q: error is %d lines:\n%s", args, n+1, e.stderr.String())
			}
			if len(e.calls) != 0 || e.stdout.Len() != 0 {
				t.Errorf("npte %q: ran %q, printed %q", args, e.calls, e.stdout.String())
			}
		}
	}
}

// Guards refuse before any change: an unmanaged namespace, a missing
// interface (checked through the recorded probe, in both paths).
func TestNetemGuards(t *testing.T) {
	noLinks := func([]string) int { return 1 }
	r := fidelity.Check(t, fidelity.Setup{Managed: []string{"router"}}, noLinks, "netem", "apply", "--rate", "20mbit", "router", "if-client")
	if r.Exit != 2 || !strings.Contains(r.Stderr, "router has no interface if-client") || len(r.Events) != 1 {
		t.Errorf("missing interface: exit %d, events %v\n%s", r.Exit, r.Events, r.Stderr)
	}
	r = fidelity.Check(t, fidelity.Setup{Foreign: []string{"router"}}, fidelity.AllSucceed, "netem", "clear", "router", "if-client")
	if r.Exit != 2 || !strings.Contains(r.Stderr, "not managed by npte") || len(r.Events) != 0 {
		t.Errorf("foreign namespace: exit %d, events %v\n%s", r.Exit, r.Events, r.Stderr)
	}
	// Clearing an unshaped interface: every tc/ip del fails, and that is fine.
	unshaped := func(argv []string) int {
		if strings.Contains(strings.Join(argv, " "), " del ") {
			return 2
		}
		return 0
	}
	r = fidelity.Check(t, fidelity.Setup{Managed: []string{"router"}}, unshaped, "netem", "clear", "router", "if-client")
	if r.Exit != 0 || len(r.Events) != 4 {
		t.Errorf("clear of an unshaped interface: exit %d, events %v\n%s", r.Exit, r.Events, r.Stderr)
	}
	// Applying where nothing was applied before: the tolerant delete fails.
	r = fidelity.Check(t, fidelity.Setup{Managed: []string{"router"}}, unshaped, "netem", "apply", "--direction", "both", "--delay", "5ms", "router", "if-client")
	if r.Exit != 0 {
		t.Errorf("first apply: exit %d\n%s", r.Exit, r.Stderr)
	}
	// A failing add is exit 1, naming the step and the clean-up command.
	failAdd := func(argv []string) int {
		// (not the kernel guard's probe, which runs under unshare)
		if argv[0] != "unshare" && strings.Contains(strings.Join(argv, " "), "qdisc add") {
			return 1 // (a script exits with the program's status: keep it 1)
		}
		return 0
	}
	r = fidelity.Check(t, fidelity.Setup{Managed: []string{"router"}}, failAdd, "netem", "apply", "--rate", "20mbit", "router", "if-client")
	if r.Exit != 1 || !strings.Contains(r.Stderr, "tc -n router qdisc add dev if-client root handle 1: tbf") || !strings.Contains(r.Stderr, "npte netem clear --direction egress router if-client") {
		t.Errorf("failed add: exit %d\n%s", r.Exit, r.Stderr)
	}
}

// Warnings reach stderr once, live (as the plan's note) and in a dry run.
func TestNetemWarnings(t *testing.T) {
	for _, dry := range []bool{false, true} {
		e := newNmEnv(t, []string{"router"}, func([]string) (string, int) { return "", 0 })
		args := []string{"netem", "apply", "--delay", "10ms 2ms", "router", "if-client"}
		if dry {
			args = append(args, "--dry-run")
		}
		if code := e.run(args...); code != 0 {
			t.Fatalf("exit %d: %s", code, e.stderr.String())
		}
		if n := strings.Count(e.stderr.String(), "packets will be reordered"); n != 1 {
			t.Errorf("dry=%v: warning printed %d times:\n%s", dry, n, e.stderr.String())
		}
		if dry && !strings.Contains(e.stdout.String(), "# router/if-client: warning: jitter without --rate") {
			t.Errorf("script lacks the warning comment:\n%s", e.stdout.String())
		}
		if !dry && !strings.Contains(strings.Join(e.calls, "\n"), "netem delay 10ms 2ms distribution normal") {
			t.Errorf("live run: %q", e.calls)
		}
	}
}

const nmQdiscs = `[{"kind":"noqueue","handle":"0:","dev":"lo","root":true,"refcnt":2,"options":{}},` +
	`{"kind":"netem","handle":"1:","dev":"if-client","root":true,"options":{"limit":2500,"delay":{"delay":0.025,"jitter":0,"correlation":0},"rate":{"rate":3750000,"packetoverhead":0,"cellsize":0,"celloverhead":0},"ecn":false,"gap":0}},` +
	`{"kind":"ingress","handle":"ffff:","dev":"if-client","parent":"ffff:fff1","options":{}},` +
	`{"kind":"tbf","handle":"1:","dev":"ifb-if-client","root":true,"refcnt":2,"options":{"rate":2500000,"burst":25000,"lat":50000}},` +
	`{"kind":"noqueue","handle":"0:","dev":"if-server","root":true,"refcnt":2,"options":{}}]`

// nmFilter is npte's ingress redirect as tc -j filter show prints it.
const nmFilter = `[{"protocol":"all","pref":1,"kind":"u32","chain":0},{"protocol":"all","pref":1,"kind":"u32","chain":0,"options":{"fh":"800:","ht_divisor":1}},` +
	`{"protocol":"all","pref":1,"kind":"u32","chain":0,"options":{"fh":"800::800","order":2048,"key_ht":"800","bkt":"0","not_in_hw":true,"match":{"value":"0","mask":"0","offmask":"","off":0},"actions":[{"order":1,"kind":"mirred","mirred_action":"redirect","direction":"egress","to_dev":"ifb-if-client","control_action":{"type":"stolen"},"index":1,"ref":1,"bind":1}]}}]`

func TestNetemShow(t *testing.T) {
	answer := func(argv []string) (string, int) {
		if argv[0] == "tc" && argv[4] == "filter" {
			return nmFilter, 0
		}
		if argv[0] == "tc" {
			return nmQdiscs, 0
		}
		return "", 0
	}
	e := newNmEnv(t, []string{"router"}, answer)
	if code := e.run("netem", "show", "router"); code != 0 {
		t.Fatalf("exit %d: %s", code, e.stderr.String())
	}
	want := `NETNS   IFACE      DIRECTION  QDISC    KNOBS
router  if-client  egress     netem    --delay 25ms --rate 30mbit --limit 2500
router  if-client  ingress    tbf      --rate 20mbit
router  if-server  egress     noqueue  # not shaped by npte (kernel default or foreign qdisc noqueue 0:)
`
	if e.stdout.String() != want {
		t.Errorf("netem show:\n%s\nwant:\n%s", e.stdout.String(), want)
	}
	if strings.Join(e.calls, "\n") != "tc -n router -j qdisc show\ntc -n router -j filter show dev if-client parent ffff:" {
		t.Errorf("ran %q", e.calls)
	}
	if e.stderr.Len() != 0 {
		t.Errorf("stderr: %q", e.stderr.String())
	}

	e = newNmEnv(t, []string{"router"}, answer)
	if code := e.run("netem", "show", "--json", "router", "if-client"); code != 0 {
		t.Fatalf("exit %d: %s", code, e.stderr.String())
	}
	var got []shape.Shaping
	if err := json.Unmarshal(e.stdout.Bytes(), &got); err != nil || len(got) != 2 {
		t.Fatalf("json: %v %s", err, e.stdout.String())
	}
	if got[1].Direction != shape.Ingress || strings.Join(got[1].Args, " ") != "--rate 20mbit" || !got[1].Shaped {
		t.Errorf("json: %+v", got)
	}
	if strings.Join(e.calls, "\n") != "ip -n router link show dev if-client\ntc -n router -j qdisc show\ntc -n router -j filter show dev if-client parent ffff:" {
		t.Errorf("ran %q", e.calls)
	}

	// Refusals: a foreign namespace, a missing interface, no root.
	e = newNmEnv(t, nil, answer)
	if code := e.run("netem", "show", "router"); code != 2 || len(e.calls) != 0 {
		t.Errorf("foreign: exit %d, calls %q", code, e.calls)
	}
	e = newNmEnv(t, []string{"router"}, func(argv []string) (string, int) { return "", 1 })
	if code := e.run("netem", "show", "router", "if-nothere"); code != 2 || !strings.Contains(e.stderr.String(), "router has no interface if-nothere") {
		t.Errorf("missing interface: exit %d, %s", code, e.stderr.String())
	}
	e = newNmEnv(t, []string{"router"}, answer)
	e.env.Euid = 1000
	if code := e.run("netem", "show", "router"); code != 2 || !strings.Contains(e.stderr.String(), "needs root") {
		t.Errorf("no root: exit %d, %s", code, e.stderr.String())
	}
	// tc failing is exit 1 with tc's message.
	e = newNmEnv(t, []string{"router"}, func(argv []string) (string, int) { return "", 2 })
	if code := e.run("netem", "show", "router"); code != 1 {
		t.Errorf("tc failure: exit %d, %s", code, e.stderr.String())
	}
	e = newNmEnv(t, []string{"router"}, func(argv []string) (string, int) { return "garbage", 0 })
	if code := e.run("netem", "show", "router"); code != 1 || !strings.Contains(e.stderr.String(), "cannot read tc -j qdisc show") {
		t.Errorf("bad tc output: exit %d, %s", code, e.stderr.String())
	}
}

func TestLabNetemList(t *testing.T) {
	e := newNmEnv(t, nil, func([]string) (string, int) { return "", 0 })
	if code := e.run("lab", "netem", "--list"); code != 0 {
		t.Fatalf("exit %d", code)
	}
	out := e.stdout.String()
	for _, want := range []string{"PROFILE", "4g-bloated", "--delay 25ms --rate 30mbit --limit 2500", "4g-managed", "--child cake --child-rate 30mbit",
		"3g", "edge", "dsl", "cable", "satellite", "wifi", "WebPageTest", "comcast", "FCC"} {
		if !strings.Contains(out, want) {
			t.Errorf("--list lacks %q:\n%s", want, out)
		}
	}
	if len(e.calls) != 0 {
		t.Errorf("ran %q", e.calls)
	}
}

func TestNetemHelp(t *testing.T) {
	for _, verb := range [][]string{{"netem", "apply"}, {"netem", "clear"}, {"netem", "show"}, {"lab", "create"}, {"lab", "destroy"}, {"lab", "netem"}} {
		e := newNmEnv(t, nil, func([]string) (string, int) { return "", 0 })
		if code := e.run(append(verb, "--help")...); code != 0 {
			t.Errorf("%q --help: exit %d", verb, code)
		}
		out := e.stdout.String()
		if !strings.Contains(out, "Refuses") && verb[1] != "destroy" {
			t.Errorf("%q --help does not say what it refuses:\n%s", verb, out)
		}
	}
}
