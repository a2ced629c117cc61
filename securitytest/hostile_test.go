package securitytest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	osexec "os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/npte/npte/cli"
	"github.com/npte/npte/exec"
	"github.com/npte/npte/gateway"
	"github.com/npte/npte/internal/sandbox"
	"github.com/npte/npte/lab"
	"github.com/npte/npte/shape"
	"github.com/npte/npte/shell"
	"github.com/npte/npte/tutorial"
	"github.com/npte/npte/validate"
)

// slot is one argument or flag of one verb that hostile values go into.
type slot struct {
	// name says which argument, e.g. "netns create NAME".
	name string
	// args builds the command line with v in the slot; every other value
	// is valid for the hostile setup (managed ha and hb, linked).
	args func(v string) []string
	// env, when set, puts v in an environment variable instead of argv
	// (args then gives the rest of the command line).
	env string
	// dry is the index in args at which --dry-run can be inserted, or 0
	// for verbs that change nothing.
	dry int
	// valid reports values that are legitimately valid in this slot; they
	// are excluded from it (each slot says why in a comment).
	valid func(v string) bool
	// extra marks a slot that is one argument too many: the command line
	// without it is valid.
	extra bool
	// sample is a valid value for the slot (default: validSample).
	sample string
	// primary slots get every value through the binary too; the others a
	// fixed sample (the in-process runs cover every value everywhere).
	primary bool
}

func isNetnsName(v string) bool { return validate.NetnsName(v) == nil }
func isIface(v string) bool     { return validate.IfaceName(v) == nil }
func isIP(v string) bool        { _, err := validate.IPAddr(v); return err == nil }
func isCIDR(v string) bool      { _, err := validate.CIDR(v); return err == nil }
func isSubnet(v string) bool    { _, err := validate.Subnet(v); return err == nil }

// isGatewaySubnet and isGatewaySubnet6: a subnet that is private and
// of a size gateway create accepts (issue 10 item 4).
func isGatewaySubnet(v string) bool {
	p, err := validate.Subnet(v)
	return err == nil && gateway.CheckSubnet(p) == nil
}
func isGatewaySubnet6(v string) bool {
	p, err := validate.Subnet(v)
	return err == nil && gateway.CheckSubnet6(p) == nil
}
func isDNS(v string) bool {
	if v == "" {
		return true
	}
	for _, a := range strings.Split(v, ",") {
		if !isIP(a) {
			return false
		}
	}
	return true
}
func isBool(v string) bool { _, err := strconv.ParseBool(v); return err == nil }

// isHelp reports kong's own flags: in a position where a flag may appear,
// -h/--help print help and --version prints the version (exit 0, nothing
// changed), as in every command-line tool. After "--" they are plain
// values and are refused like any other.
func isHelp(v string) bool { return v == "-h" || v == "--help" || v == "--version" }

func either(fs ...func(string) bool) func(string) bool {
	return func(v string) bool {
		for _, f := range fs {
			if f(v) {
				return true
			}
		}
		return false
	}
}

// labSample is a valid lab file (the built-in lab's example), by an
// absolute path: the tests run in securitytest/.
var labSample, _ = filepath.Abs("../examples/builtin.yaml")

// slots lists every argument and flag of every verb. Each slot's valid
// form must work: TestHostileInput fails a slot whose valid form fails
// (a refusal of a hostile value proves nothing then) and tries no hostile
// value in it.
func slots() []slot {
	l := func(prefix ...string) func(string) []string {
		return func(v string) []string { return append(append([]string{}, prefix...), v) }
	}
	mid := func(before []string, after ...string) func(string) []string {
		return func(v string) []string {
			return append(append(append([]string{}, before...), v), after...)
		}
	}
	sections := map[string]bool{"link": true, "addr": true, "route": true, "route6": true, "qdisc": true, "neigh": true, "sockets": true, "pids": true}
	return []slot{
		// A valid name would be created: excluded. Flags are parsed here.
		{name: "netns create NAME", args: l("netns", "create"), dry: 2, valid: either(isNetnsName, isHelp)},
		{name: "netns create -- NAME", primary: true, args: l("netns", "create", "--"), dry: 2, valid: isNetnsName},
		// A valid address is a resolver; "" alone means no resolv.conf; a
		// comma separates resolvers (kong's list syntax).
		{name: "netns create --dns=ADDR", args: func(v string) []string { return []string{"netns", "create", "--dns=" + v, "hc"} }, dry: 2,
			valid: isDNS},
		{name: "netns create --dns ADDR", args: mid([]string{"netns", "create", "--dns"}, "hc"), dry: 2,
			valid: either(isDNS, isHelp)},
		{name: "netns create NAME EXTRA", args: l("netns", "create", "--", "hc"), dry: 2, extra: true},
		{name: "netns destroy NAME", args: l("netns", "destroy"), dry: 2, valid: either(isNetnsName, isHelp)},
		{name: "netns destroy -- NAME", args: l("netns", "destroy", "--"), dry: 2, valid: isNetnsName},
		{name: "netns destroy NAME EXTRA", args: l("netns", "destroy", "--", "ha"), dry: 2, extra: true},
		{name: "netns list --json=BOOL", args: func(v string) []string { return []string{"netns", "list", "--json=" + v} }, valid: isBool},
		{name: "netns list EXTRA", args: l("netns", "list", "--"), extra: true},
		// A valid name is a namespace that may exist.
		{name: "netns connect LEFT", args: mid([]string{"netns", "connect", "--"}, "hb"), dry: 2, valid: isNetnsName},
		{name: "netns connect RIGHT", sample: "hb", args: l("netns", "connect", "--", "ha"), dry: 2, valid: isNetnsName},
		{name: "netns connect EXTRA", args: l("netns", "connect", "--", "ha", "hb"), dry: 2, extra: true},
		{name: "netns assign-addr NS", args: mid([]string{"netns", "assign-addr", "--"}, "if-hb", "10.9.0.1/24"), dry: 2, valid: isNetnsName},
		// A valid interface name may exist in NS.
		{name: "netns assign-addr IFACE", args: mid([]string{"netns", "assign-addr", "--", "ha"}, "10.9.0.1/24"), dry: 2, valid: isIface},
		// A valid CIDR is an address to assign.
		{name: "netns assign-addr CIDR", args: l("netns", "assign-addr", "--", "ha", "if-hb"), dry: 2, valid: isCIDR},
		{name: "netns assign-addr EXTRA", args: l("netns", "assign-addr", "--", "ha", "if-hb", "10.9.0.1/24"), dry: 2, extra: true},
		{name: "netns add-route NS", args: mid([]string{"netns", "add-route", "--"}, "10.8.0.0/24", "10.9.0.2"), dry: 2, valid: isNetnsName},
		// "default" and networks without host bits are destinations.
		{name: "netns add-route DEST", args: mid([]string{"netns", "add-route", "--", "ha"}, "10.9.0.2"), dry: 2,
			valid: func(v string) bool { return v == "default" || isSubnet(v) }},
		// A unicast address is a next hop.
		{name: "netns add-route VIA", primary: true, args: l("netns", "add-route", "--", "ha", "10.8.0.0/24"), dry: 2, valid: isIP},
		// A valid interface name may exist in NS. An empty --dev= is the
		// same as no --dev (kong cannot tell them apart): the route is
		// added without a device.
		{name: "netns add-route --dev=IFACE", args: func(v string) []string {
			return []string{"netns", "add-route", "--dev=" + v, "ha", "10.8.0.0/24", "10.9.0.2"}
		}, dry: 2, valid: func(v string) bool { return v == "" || isIface(v) }},
		{name: "netns add-route EXTRA", args: l("netns", "add-route", "--", "ha", "10.8.0.0/24", "10.9.0.2"), dry: 2, extra: true},
		{name: "netns run NS", args: mid([]string{"netns", "run", "--"}, "--", "true"), dry: 2, valid: isNetnsName},
		// KEY=VALUE pairs set the unprivileged command's own environment
		// (after runuser dropped root): any VALUE is the user's business.
		{name: "netns run --env=KEY=VALUE", args: func(v string) []string {
			return []string{"netns", "run", "--env=" + v, "ha", "--", "true"}
		}, dry: 2, valid: func(v string) bool { _, _, err := validate.EnvAssignment(v); return err == nil }},
		// $SUDO_USER: only an existing unprivileged user is valid.
		{name: "netns run $SUDO_USER", env: "SUDO_USER", args: func(string) []string { return []string{"netns", "run", "ha", "--", "true"} }, dry: 2,
			valid: func(v string) bool {
				if validate.Username(v) != nil || v == "root" {
					return false
				}
				u, err := user.Lookup(v)
				return err == nil && u.Uid != "0"
			}},
		// The command and its arguments are the user's own (free-form); only
		// a first word that is empty, holds "=" or NUL is refused.
		{name: "netns run CMD", args: l("netns", "run", "ha", "--"), dry: 2,
			valid: func(v string) bool { return v != "" && !strings.ContainsAny(v, "=\x00") }},
		{name: "netns show NS", args: l("netns", "show", "--"), valid: isNetnsName},
		// Known section names, comma-separated (kong's list syntax); an
		// empty --section= is no --section (kong cannot tell them apart):
		// every section.
		{name: "netns show --section=NAME", args: func(v string) []string { return []string{"netns", "show", "--section=" + v, "ha"} },
			valid: func(v string) bool {
				if v == "" {
					return true
				}
				for _, s := range strings.Split(v, ",") {
					if !sections[s] {
						return false
					}
				}
				return true
			}},
		{name: "netns show --json=BOOL", args: func(v string) []string { return []string{"netns", "show", "--json=" + v, "ha"} }, valid: isBool},
		{name: "netns show EXTRA", args: l("netns", "show", "--", "ha"), extra: true},

		// netem: NS and IFACE, then every knob. Each knob's legitimate
		// values are those of its grammar in package shape.
		{name: "netem apply NS", args: mid([]string{"netem", "apply", "--rate=10mbit", "--"}, "if-hb"), dry: 2, valid: isNetnsName},
		{name: "netem apply IFACE", args: l("netem", "apply", "--rate=10mbit", "--", "ha"), dry: 2, valid: isIface},
		{name: "netem apply EXTRA", args: l("netem", "apply", "--rate=10mbit", "--", "ha", "if-hb"), dry: 2, extra: true},
		knob("--delay", nil, func(v string) bool { _, err := shape.ParseDelay(v); return err == nil }),
		knob("--distribution", []string{"--delay=10ms 2ms"}, func(v string) bool { _, err := shape.ParseDistribution(v); return err == nil }),
		knob("--loss", nil, func(v string) bool { _, err := shape.ParseLoss(v); return err == nil }),
		knob("--duplicate", nil, func(v string) bool { _, err := shape.ParsePercent("--duplicate", v); return err == nil }),
		knob("--corrupt", nil, func(v string) bool { _, err := shape.ParsePercent("--corrupt", v); return err == nil }),
		knob("--reorder", []string{"--delay=10ms"}, func(v string) bool { _, err := shape.ParseReorder(v); return err == nil }),
		knob("--rate", nil, func(v string) bool { _, err := shape.ParseRate(v); return err == nil }),
		knob("--slot", nil, func(v string) bool { _, err := shape.ParseSlot(v); return err == nil }),
		knob("--limit", []string{"--delay=10ms"}, func(v string) bool { _, err := shape.ParseLimit(v); return err == nil }),
		knob("--child", []string{"--delay=10ms", "--child-rate=10mbit"}, func(v string) bool { return contains(shape.Children, v) }),
		knob("--child-rate", []string{"--delay=10ms", "--child=tbf"}, func(v string) bool { _, _, err := shape.ParsePlainRate("--child-rate", v); return err == nil }),
		knob("--direction", []string{"--rate=10mbit"}, func(v string) bool { _, err := shape.ParseDirection(v); return err == nil }),
		{name: "netem clear NS", args: mid([]string{"netem", "clear", "--"}, "if-hb"), dry: 2, valid: isNetnsName},
		{name: "netem clear IFACE", args: l("netem", "clear", "--", "ha"), dry: 2, valid: isIface},
		{name: "netem clear --direction", args: func(v string) []string { return []string{"netem", "clear", "--direction=" + v, "ha", "if-hb"} }, dry: 2,
			valid: func(v string) bool { _, err := shape.ParseDirection(v); return err == nil }},
		{name: "netem show NS", args: l("netem", "show", "--"), valid: isNetnsName},
		// IFACE is optional: an empty one is no IFACE (all interfaces).
		{name: "netem show IFACE", sample: "if-hb", args: l("netem", "show", "--", "ha"), valid: func(v string) bool { return v == "" || isIface(v) }},
		{name: "netem show --json=BOOL", args: func(v string) []string { return []string{"netem", "show", "--json=" + v, "ha"} }, valid: isBool},
		// lab: fixed topology; only the profile and the list flag take
		// values. An empty --profile= is no --profile: clear the links.
		{name: "lab create EXTRA", args: l("lab", "create", "--"), dry: 2, extra: true},
		{name: "lab destroy EXTRA", args: l("lab", "destroy", "--"), dry: 2, extra: true},
		// Lab files: no hostile value is a lab file or an applied lab.
		{name: "lab apply FILE", args: l("lab", "apply", "--"), dry: 2, sample: labSample},
		{name: "lab plan FILE", args: l("lab", "plan", "--"), sample: labSample},
		{name: "lab graph FILE|NAME", args: l("lab", "graph", "--"), sample: labSample},
		{name: "lab destroy FILE", args: l("lab", "destroy", "--"), dry: 2, sample: labSample},
		{name: "lab netem --profile", args: func(v string) []string { return []string{"lab", "netem", "--profile=" + v} }, dry: 2,
			valid: func(v string) bool { _, err := lab.FindProfile(v); return err == nil || v == "" }},
		{name: "lab netem --list=BOOL", args: func(v string) []string { return []string{"lab", "netem", "--list=" + v} }, valid: isBool},
		// gateway: the namespace need not be managed (it is not a NOPASSWD
		// verb) but must be a valid name other than "host".
		{name: "gateway create NS", args: mid([]string{"gateway", "create", "--"}, "10.200.0.0/24", "eth0"), dry: 2,
			valid: func(v string) bool { return gateway.CheckName(v) == nil }},
		{name: "gateway create SUBNET", args: mid([]string{"gateway", "create", "--", "ha"}, "eth0"), dry: 2, valid: isGatewaySubnet},
		{name: "gateway create EXT_IFACE", args: l("gateway", "create", "--", "ha", "10.200.0.0/24"), dry: 2, valid: isIface},
		{name: "gateway create --firewall", args: func(v string) []string {
			return []string{"gateway", "create", "--firewall=" + v, "ha", "10.200.0.0/24", "eth0"}
		}, dry: 2, valid: func(v string) bool { return gateway.CheckFirewall(gateway.Firewall(v)) == nil }},
		{name: "gateway create --subnet6", sample: "fd00:200::/64", args: func(v string) []string {
			return []string{"gateway", "create", "--subnet6=" + v, "ha", "10.200.0.0/24", "eth0"}
		}, dry: 2, valid: func(v string) bool { return v == "" || isGatewaySubnet6(v) }},
		{name: "gateway create EXTRA", args: l("gateway", "create", "--", "ha", "10.200.0.0/24", "eth0"), dry: 2, extra: true},
		{name: "gateway destroy NS", args: l("gateway", "destroy", "--"), dry: 2, valid: func(v string) bool { return gateway.CheckName(v) == nil }},
		{name: "gateway destroy --firewall", args: func(v string) []string { return []string{"gateway", "destroy", "--firewall=" + v, "ha"} }, dry: 2,
			valid: func(v string) bool { return gateway.CheckFirewall(gateway.Firewall(v)) == nil }},
		// sudoers: a user name, an installed path, a form.
		{name: "sudoers --user", args: func(v string) []string { return []string{"sudoers", "--user=" + v} },
			valid: func(v string) bool { return validate.Username(v) == nil }},
		{name: "sudoers --path", args: func(v string) []string { return []string{"sudoers", "--user=alice", "--path=" + v} },
			valid: func(v string) bool {
				return validate.AbsPath(v) == nil && strings.Trim(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._+-") == ""
			}},
		{name: "sudoers --form", args: func(v string) []string { return []string{"sudoers", "--user=alice", "--form=" + v} },
			valid: func(v string) bool { return v == "both" || v == "classic" || v == "sudo-rs" }},
		{name: "sudoers EXTRA", args: l("sudoers", "--user=alice", "--"), extra: true},
		{name: "doctor --json=BOOL", args: func(v string) []string { return []string{"doctor", "--json=" + v} }, valid: isBool},
		{name: "doctor EXTRA", args: l("doctor", "--"), extra: true},
		{name: "tutorial CHAPTER", args: l("tutorial", "--"),
			valid: func(v string) bool { _, ok := tutorial.Lookup(v); return ok || v == "all" || v == "" }},
		{name: "completion SHELL", args: l("completion", "--"),
			valid: func(v string) bool { return v == "bash" || v == "zsh" || v == "fish" || v == "" }},
	}
}

// knob is the slot of one netem apply flag, with the other flags it needs
// to be valid.
func knob(flag string, with []string, valid func(string) bool) slot {
	return slot{
		name: "netem apply " + flag,
		args: func(v string) []string {
			args := append([]string{"netem", "apply"}, with...)
			return append(args, flag+"="+v, "ha", "if-hb")
		},
		dry:   2,
		valid: valid,
	}
}

// validSample is a valid value for each slot, used to check that the
// verb exists and its template is right.
func validSample(s slot) string {
	if s.sample != "" {
		return s.sample
	}
	for _, v := range []string{"ha", "if-hb", "10.9.0.1/24", "10.8.0.0/24", "10.9.0.2", "1.1.1.1", "true", "A=b", "link", testUser, "10ms", "1%", "10mbit", "100", "tbf", "egress", "normal", "4g-bloated", "nft", "10.200.0.0/24", "eth0", "alice", "/usr/local/sbin/npte", "both", "basics", "bash"} {
		if s.valid != nil && s.valid(v) {
			return v
		}
	}
	return ""
}

func withDry(s slot, args []string) []string {
	out := append([]string{}, args[:s.dry]...)
	out = append(out, "--dry-run")
	return append(out, args[s.dry:]...)
}

// inProcess runs cli.Main in this process as root in live mode against
// the sandbox's real state, with every program start refused and
// recorded: hostile input must be refused before any program runs.
func inProcess(args []string, envName, envValue string) (code int, stdout, stderr string, started []string, panicked any) {
	var out, errb bytes.Buffer
	var mu sync.Mutex
	record := func(c exec.Cmd) {
		mu.Lock()
		defer mu.Unlock()
		started = append(started, strings.Join(c.Argv, " "))
	}
	env := cli.Env{
		Args:   args,
		Stdin:  strings.NewReader(""),
		Stdout: &out,
		Stderr: &errb,
		Getenv: func(k string) string {
			if k == envName {
				return envValue
			}
			if k == "SUDO_USER" {
				return testUser
			}
			return ""
		},
		Euid:    0,
		Version: "test",
		Layout:  shell.DefaultLayout(),
		Owner:   0,
		Start: func(_ context.Context, c exec.Cmd) error {
			record(c)
			return errors.New("blocked by the hostile-input test")
		},
		Exec:       func(c exec.Cmd) error { record(c); return errors.New("blocked by the hostile-input test") },
		Signals:    make(chan os.Signal),
		LookupUser: user.Lookup,
		Getwd:      func() (string, error) { return "/tmp/work", nil },
	}
	func() {
		defer func() { panicked = recover() }()
		code = cli.Main(env)
	}()
	return code, out.String(), errb.String(), started, panicked
}

// checkRefusal checks one refusal: exit 2, nothing on stdout, one line on
// stderr naming the problem, no control characters.
func checkRefusal(code int, stdout, stderr string) error {
	if code != 2 {
		return fmt.Errorf("exit %d, want 2", code)
	}
	if stdout != "" {
		return fmt.Errorf("printed on stdout: %q", stdout)
	}
	msg := strings.TrimSuffix(stderr, "\n")
	switch {
	case msg == "":
		return errors.New("no message")
	case strings.Contains(msg, "\n"):
		return fmt.Errorf("message of more than one line: %q", stderr)
	case !strings.HasPrefix(msg, "npte: "):
		return fmt.Errorf("message does not start with 'npte: ': %q", stderr)
	case strings.Contains(msg, "panic") || strings.Contains(msg, "goroutine"):
		return fmt.Errorf("looks like a panic: %q", stderr)
	case !utf8.ValidString(msg):
		return fmt.Errorf("message is not valid UTF-8: %q", stderr)
	}
	for _, r := range msg {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || r == '\u202e' {
			return fmt.Errorf("message carries control character %U: %q", r, stderr)
		}
	}
	return nil
}

// TestHostileInput pushes every hostile value through every argument and
// flag of every verb, live and --dry-run, in-process (NUL included) and
// through the npte binary (values execve can carry): each must end with
// exit 2 and a one-line message, no panic, no program started, and
// /run/npte, /run/netns, /etc/netns and the kernel state byte-for-byte
// unchanged.
func TestHostileInput(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	values := hostileValues()
	if len(values) < 200 {
		t.Fatalf("only %d hostile values; the table needs at least 200", len(values))
	}
	privateUsers(t)
	mustRun(t, 0, "netns", "create", "ha")
	mustRun(t, 0, "netns", "create", "hb")
	mustRun(t, 0, "netns", "connect", "ha", "hb")
	kernel := settledState(t)
	files := fsSnapshot(stateRoots...)
	bin := npteBin(t)

	var tried, inproc, binary, excluded, broken int
	var failures []string
	nfail := 0
	fail := func(format string, args ...any) {
		nfail++
		if len(failures) < 40 {
			failures = append(failures, fmt.Sprintf(format, args...))
		}
	}
	start := time.Now()
	for _, s := range slots() {
		// The valid form of the slot must work (through the binary, with
		// real programs): a refusal of a hostile value proves nothing if
		// the valid value is refused too.
		sample := validSample(s)
		targs := s.args(sample)
		if s.extra {
			targs = targs[:len(targs)-1]
		}
		if s.dry > 0 {
			targs = withDry(s, targs)
		}
		if r := runBin(bin, targs, s.env, sample); r.Code != 0 {
			t.Errorf("%s: its valid form %q fails (exit %d: %s); no hostile value tried in it", s.name, targs, r.Code, strings.TrimSpace(r.Stderr))
			broken++
			continue
		}
		slotTried := 0
		type job struct {
			args []string
			v    string
		}
		var jobs []job
		for i, v := range values {
			if s.valid != nil && s.valid(v) {
				excluded++
				continue
			}
			slotTried++
			variants := [][]string{s.args(v)}
			if s.dry > 0 {
				variants = append(variants, withDry(s, s.args(v)))
			}
			for _, args := range variants {
				envv := v
				code, stdout, stderr, started, p := inProcess(args, s.env, envv)
				inproc++
				switch {
				case p != nil:
					fail("%s %q: panic: %v", s.name, v, p)
				case len(started) > 0:
					fail("%s %q: started programs %q", s.name, v, started)
				}
				if err := checkRefusal(code, stdout, stderr); err != nil {
					fail("%s %q (in-process %q): %v", s.name, v, args, err)
				}
				// Through the binary: values execve can carry (no NUL), live
				// runs, every value in a primary slot, one in ten elsewhere
				// (the in-process runs cover every pair; the binary adds
				// argv through execve and real process exit codes).
				if strings.IndexByte(v, 0) < 0 && !strings.Contains(strings.Join(args, " "), "--dry-run") && (s.primary || i%10 == 0) {
					jobs = append(jobs, job{args, v})
				}
			}
			if got := fsSnapshot(stateRoots...); got != files {
				t.Fatalf("%s %q changed npte's files:\n--- before\n%s\n--- after\n%s", s.name, v, files, got)
			}
		}
		// The same through the binary, several at a time.
		var mu sync.Mutex
		var wg sync.WaitGroup
		ch := make(chan job)
		for w := 0; w < 2*runtime.NumCPU(); w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range ch {
					r := runBin(bin, j.args, s.env, j.v)
					mu.Lock()
					binary++
					if err := checkRefusal(r.Code, r.Stdout, r.Stderr); err != nil {
						fail("%s %q (binary %q): %v", s.name, j.v, j.args, err)
					}
					mu.Unlock()
				}
			}()
		}
		for _, j := range jobs {
			ch <- j
		}
		close(ch)
		wg.Wait()
		if got := fsSnapshot(stateRoots...); got != files {
			t.Fatalf("%s: the binary runs changed npte's files:\n--- before\n%s\n--- after\n%s", s.name, files, got)
		}
		if got := sandbox.State(t); got != kernel {
			t.Fatalf("%s: kernel state changed:\n--- before\n%s\n--- after\n%s", s.name, kernel, got)
		}
		tried += slotTried
	}
	for _, f := range failures {
		t.Error(f)
	}
	t.Logf("%d hostile values x %d slots (%d failed: their valid form fails): %d (value, slot) pairs, %d in-process runs, %d binary runs, %d values excluded as valid in a slot, in %v; %d failures (each must exit 2 with one line, state byte-for-byte unchanged)",
		len(values), len(slots())-broken, broken, tried, inproc, binary, excluded, time.Since(start).Round(time.Millisecond), nfail)
}

// runBin runs the npte binary with args (and v in envName, if set).
func runBin(bin string, args []string, envName, v string) result {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := osexec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "SUDO_USER="+testUser, "NO_COLOR=1")
	if envName != "" {
		cmd.Env = append(cmd.Env, envName+"="+v)
	}
	cmd.Stdin = strings.NewReader("")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{Args: args, Stdout: out.String(), Stderr: errb.String()}
	if err != nil {
		r.Code = -1
		var ee interface{ ExitCode() int }
		if errors.As(err, &ee) {
			r.Code = ee.ExitCode()
		}
	}
	return r
}
