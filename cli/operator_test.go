package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"github.com/npte/npte/cli"
	npteexec "github.com/npte/npte/exec"
	"github.com/npte/npte/internal/sandbox"
	"github.com/npte/npte/shell"
	"github.com/npte/npte/tutorial"
)

// opEnv is an environment for the operator verbs: a private layout with
// the managed namespaces given, a bin directory holding fake copies of the
// tools named (all of the allowlist when tools is nil), and a recording
// Starter whose result world decides.
type opEnv struct {
	env    cli.Env
	stdout *bytes.Buffer
	stderr *bytes.Buffer
	ran    *[]npteexec.Cmd
}

func newOpEnv(t *testing.T, euid int, vars map[string]string, managed []string, tools []string, world func(argv []string) error, args ...string) opEnv {
	t.Helper()
	root := t.TempDir()
	layout := shell.Layout{Root: filepath.Join(root, "npte"), RunNetns: filepath.Join(root, "netns")}
	bin := filepath.Join(root, "bin")
	for _, d := range []string{layout.NetnsDir(), layout.IntentDir(), layout.RunNetns, bin} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if tools == nil {
		for _, tool := range npteexec.Tools() {
			tools = append(tools, tool.Name)
		}
	}
	for _, name := range tools {
		if err := os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/false\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range managed {
		if err := os.WriteFile(layout.Marker(n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var stdout, stderr bytes.Buffer
	var ran []npteexec.Cmd
	o := opEnv{stdout: &stdout, stderr: &stderr, ran: &ran}
	o.env = cli.Env{
		Args: args, Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr,
		Getenv: func(k string) string { return vars[k] }, Euid: euid, Version: "test",
		Layout: layout, Owner: os.Getuid(), Dirs: []string{bin},
		Start: func(_ context.Context, c npteexec.Cmd) error {
			ran = append(ran, c)
			if world != nil {
				return world(c.Argv)
			}
			return nil
		},
		LookupUser: func(name string) (*user.User, error) { return nil, user.UnknownUserError(name) },
		Getwd:      func() (string, error) { return "/", nil },
	}
	return o
}

func (o opEnv) run() int { return cli.Main(o.env) }

var updateSudoers = flag.Bool("update-sudoers", false, "rewrite testdata/sudoers/*.golden")

func TestSudoersGolden(t *testing.T) {
	cases := []struct {
		name string
		euid int
		vars map[string]string
		args []string
	}{
		{"default", 1000, map[string]string{"USER": "alice"}, nil},
		{"classic-root-user", 0, nil, []string{"--user", "bob", "--form", "classic"}},
		{"sudo-rs", 1000, map[string]string{"USER": "alice"}, []string{"--form", "sudo-rs"}},
		{"custom-path", 1000, map[string]string{"USER": "carol_2"}, []string{"--path", "/usr/sbin/npte"}},
	}
	visudo, _ := exec.LookPath("visudo")
	if visudo == "" {
		if _, err := os.Stat("/usr/sbin/visudo"); err == nil {
			visudo = "/usr/sbin/visudo"
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := newOpEnv(t, c.euid, c.vars, nil, nil, nil, append([]string{"sudoers"}, c.args...)...)
			if code := o.run(); code != 0 {
				t.Fatalf("exit %d: %s", code, o.stderr)
			}
			golden := filepath.Join("../testdata/sudoers", c.name+".golden")
			if *updateSudoers {
				if err := os.WriteFile(golden, o.stdout.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (regenerate: go test ./cli -run TestSudoersGolden -update-sudoers)", err)
			}
			if string(want) != o.stdout.String() {
				t.Errorf("%s differs:\n--- want\n%s\n--- got\n%s", golden, want, o.stdout)
			}
			if visudo == "" {
				if os.Getenv("CI") != "" {
					t.Fatal("visudo is not installed (.ci/run installs sudo)")
				}
				t.Skip("visudo (package sudo) is not installed; CI checks the syntax")
			}
			f := filepath.Join(t.TempDir(), "npte")
			if err := os.WriteFile(f, o.stdout.Bytes(), 0o440); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(visudo, "-c", "-f", f).CombinedOutput()
			if err != nil {
				t.Errorf("visudo -c -f rejects the output: %v\n%s", err, out)
			}
			// The commented sudo-rs rule must be valid too once uncommented
			// (and the classic one removed), as the comment tells the user.
			if c.name == "default" {
				var lines []string
				for _, l := range strings.Split(o.stdout.String(), "\n") {
					if strings.Contains(l, "NOPASSWD") && !strings.HasPrefix(l, "#") {
						continue
					}
					if strings.HasPrefix(l, "#alice ") {
						l = strings.TrimPrefix(l, "#")
					}
					lines = append(lines, l)
				}
				if err := os.WriteFile(f, []byte(strings.Join(lines, "\n")), 0o440); err != nil {
					t.Fatal(err)
				}
				if out, err := exec.Command(visudo, "-c", "-f", f).CombinedOutput(); err != nil {
					t.Errorf("visudo rejects the uncommented sudo-rs form: %v\n%s", err, out)
				}
			}
		})
	}
}

func TestSudoersContent(t *testing.T) {
	o := newOpEnv(t, 1000, map[string]string{"USER": "alice"}, nil, nil, nil, "sudoers", "--form", "classic")
	if code := o.run(); code != 0 {
		t.Fatal(o.stderr)
	}
	out := o.stdout.String()
	for _, want := range []string{
		"alice ALL=(root) NOPASSWD: /usr/local/sbin/npte netns *, /usr/local/sbin/npte netem *, /usr/local/sbin/npte lab *",
		"env_reset", "secure_path", "Not granted: 'npte gateway'",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(out, "gateway *") {
		t.Error("gateway is granted")
	}
	o = newOpEnv(t, 1000, map[string]string{"USER": "alice"}, nil, nil, nil, "sudoers", "--form", "sudo-rs")
	o.run()
	if strings.Contains(o.stdout.String(), "*") && strings.Contains(strings.SplitN(o.stdout.String(), "NOPASSWD:", 2)[1], "*") {
		t.Error("sudo-rs form has a wildcard")
	}
	if !strings.Contains(o.stdout.String(), "EVERY npte verb") {
		t.Error("sudo-rs form does not say plainly what it grants")
	}
}

func TestSudoersRefusals(t *testing.T) {
	cases := []struct {
		euid int
		vars map[string]string
		args []string
		want string
	}{
		{0, map[string]string{"USER": "root", "SUDO_USER": "alice"}, nil, "refusing to guess the user as root"},
		{1000, nil, nil, "$USER is not set"},
		{1000, map[string]string{"USER": "Alice"}, nil, "invalid user name"},
		{0, nil, []string{"--user", "al ice"}, "invalid user name"},
		{0, nil, []string{"--user=-alice"}, "invalid user name"},
		{0, nil, []string{"--user", "alice", "--path", "npte"}, "must be absolute"},
		{0, nil, []string{"--user", "alice", "--path", "/usr/local//sbin/npte"}, "must be clean"},
		{0, nil, []string{"--user", "alice", "--path", "/usr/local/sbin/../bin/npte"}, "must be clean"},
		{0, nil, []string{"--user", "alice", "--path", "/opt/my npte"}, "sudoers reads"},
		{0, nil, []string{"--user", "alice", "--path", "/opt/npte,ALL"}, "sudoers reads"},
		{0, nil, []string{"--user", "alice", "--path", "/opt/npte*"}, "sudoers reads"},
		{0, nil, []string{"--user", "alice", "--path", "/opt/np\nte"}, "control characters"},
		{0, nil, []string{"--user", "alice", "--form", "doas"}, "--form"},
	}
	for _, c := range cases {
		o := newOpEnv(t, c.euid, c.vars, nil, nil, nil, append([]string{"sudoers"}, c.args...)...)
		if code := o.run(); code != 2 {
			t.Errorf("%v: exit %d, want 2", c.args, code)
		}
		if !strings.Contains(o.stderr.String(), c.want) || strings.Count(o.stderr.String(), "\n") > 2 {
			t.Errorf("%v: stderr %q does not say %q", c.args, o.stderr, c.want)
		}
		if o.stdout.Len() != 0 {
			t.Errorf("%v: printed a grant despite refusing", c.args)
		}
	}
}

// failProbe makes the kernel feature probes in names fail as a kernel
// without them would.
func failProbe(names ...string) func([]string) error {
	return func(argv []string) error {
		line := strings.Join(argv, " ")
		for _, n := range names {
			if strings.Contains(line, " "+n) {
				return errors.New("exit status 2")
			}
		}
		return nil
	}
}

func TestDoctorMissingTools(t *testing.T) {
	// ip, tc and ss (iproute2), nft (nftables) and both iptables are missing;
	// the rest is there.
	var present []string
	missing := map[string]bool{"ip": true, "tc": true, "ss": true, "nft": true, "iptables": true, "ip6tables": true}
	for _, tool := range npteexec.Tools() {
		if !missing[tool.Name] {
			present = append(present, tool.Name)
		}
	}
	o := newOpEnv(t, 0, nil, nil, present, nil, "doctor")
	code := o.run()
	if code != 1 {
		t.Errorf("exit %d, want 1 (ip and tc are required)\n%s", code, o.stdout)
	}
	out := o.stdout.String()
	var install []string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "apt-get install") {
			install = append(install, l)
		}
	}
	if len(install) != 1 || strings.TrimSpace(install[0]) != "sudo apt-get install iproute2 nftables iptables" {
		t.Errorf("install line %q, want each package once, in allowlist order", install)
	}
	for _, want := range []string{"MISSING  ip ", "MISSING  tc ", "missing  nft ", "ok       sysctl"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(o.stderr.String(), "required item(s) missing") {
		t.Errorf("stderr %q", o.stderr)
	}
	// Without ip and tc the probes cannot run: unknown, not missing.
	if !strings.Contains(out, "unknown  netem      ip (iproute2) is missing") {
		t.Errorf("features are not unknown without ip:\n%s", out)
	}
}

func TestDoctorFeatures(t *testing.T) {
	o := newOpEnv(t, 0, nil, nil, nil, failProbe("netem", "type ifb"), "doctor", "--json")
	code := o.run()
	if code != 0 {
		t.Errorf("exit %d, want 0: netem and ifb are optional\n%s", code, o.stderr)
	}
	var rep cli.DoctorReport
	if err := json.Unmarshal(o.stdout.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	status := map[string]string{}
	for _, f := range rep.Features {
		status[f.Name] = f.Status
		if f.Probe[0] != "unshare" || f.Probe[1] != "--net" {
			t.Errorf("%s: probe %v does not run in a throwaway namespace", f.Name, f.Probe)
		}
	}
	want := map[string]string{"veth": "present", "netem": "missing", "tbf": "present", "cake": "present", "fq_codel": "present",
		"ingress": "present", "ifb": "missing", "u32": "present", "mirred": "present", "ipv6": "present", "nftables": "present"}
	for k, v := range want {
		if status[k] != v {
			t.Errorf("%s: %q, want %q", k, status[k], v)
		}
	}
	if len(rep.Packages) != 0 || rep.Install != "" || rep.RequiredMissing != 0 {
		t.Errorf("nothing to install expected: %+v", rep)
	}
	// The probes ran tc by absolute path inside unshare, and fed nft its ruleset.
	fedNft := false
	for _, c := range *o.ran {
		i := 0
		for i < len(c.Argv) && c.Argv[i] != "--" {
			i++
		}
		if c.Argv[0] != "unshare" || !filepath.IsAbs(c.Path) || i+1 >= len(c.Argv) || !filepath.IsAbs(c.Argv[i+1]) {
			t.Errorf("probe %v does not run an absolute path inside unshare", c.Argv)
		}
		if strings.HasSuffix(c.Argv[i+1], "/nft") && c.Stdin != nil {
			fedNft = true
		}
	}
	if !fedNft {
		t.Error("the nftables probe got no ruleset")
	}
	// veth missing is required: exit 1.
	o = newOpEnv(t, 0, nil, nil, nil, failProbe("type veth"), "doctor")
	if code := o.run(); code != 1 || !strings.Contains(o.stdout.String(), "MISSING  veth") {
		t.Errorf("veth missing: exit %d\n%s", code, o.stdout)
	}
	// Without root the probes use a user namespace, and say so.
	o = newOpEnv(t, 1000, nil, nil, nil, nil, "doctor")
	o.run()
	if !strings.Contains(o.stdout.String(), "without root") || !strings.Contains(strings.Join((*o.ran)[0].Argv, " "), "unshare --map-root-user --net") {
		t.Errorf("rootless doctor:\n%s", o.stdout)
	}
}

func TestCompletion(t *testing.T) {
	cases := []struct{ line, want string }{
		{"npte ", "completion doctor gateway lab netem netns sudoers tutorial"},
		{"npte ga", "gateway"},
		{"sudo npte gateway destroy ", "alpha beta"},
		{"npte gateway create --firewall ", "iptables nft"},
		{"npte gateway create --firewall i", "iptables"},
		{"npte tutorial ga", "gateway"},
		{"npte sudoers --form ", "both classic sudo-rs"},
		{"./npte completion ", "bash fish zsh"},
		{"npte netns destroy ", "alpha beta"},
	}
	for _, c := range cases {
		o := newOpEnv(t, 1000, nil, []string{"alpha", "beta"}, nil, nil, "completion", "--complete", c.line)
		if code := o.run(); code != 0 {
			t.Errorf("%q: exit %d %s", c.line, code, o.stderr)
		}
		got := strings.Join(strings.Fields(o.stdout.String()), " ")
		if c.line == "npte " {
			for _, w := range strings.Fields(c.want) {
				if !strings.Contains(" "+got+" ", " "+w+" ") {
					t.Errorf("%q: %q lacks %q", c.line, got, w)
				}
			}
			continue
		}
		if got != c.want {
			t.Errorf("%q: got %q, want %q", c.line, got, c.want)
		}
	}
	for _, sh := range []string{"bash", "zsh", "fish"} {
		o := newOpEnv(t, 1000, nil, nil, nil, nil, "completion", sh)
		if code := o.run(); code != 0 || !strings.Contains(o.stdout.String(), "completion --complete") {
			t.Errorf("%s: exit %d\n%s", sh, code, o.stdout)
		}
	}
	o := newOpEnv(t, 1000, nil, nil, nil, nil, "completion", "tcsh")
	if code := o.run(); code != 2 {
		t.Errorf("tcsh: exit %d", code)
	}
}

func TestTutorialVerb(t *testing.T) {
	o := newOpEnv(t, 1000, nil, nil, nil, nil, "tutorial")
	if code := o.run(); code != 0 || o.stdout.String() != tutorial.Contents() {
		t.Errorf("contents: exit %d", code)
	}
	o = newOpEnv(t, 1000, nil, nil, nil, nil, "tutorial", "gateway")
	if code := o.run(); code != 0 || !strings.HasPrefix(o.stdout.String(), "# Gateway") {
		t.Errorf("chapter: exit %d %q", code, o.stdout.String()[:20])
	}
	o = newOpEnv(t, 1000, nil, nil, nil, nil, "tutorial", "all")
	if code := o.run(); code != 0 || o.stdout.String() != tutorial.All() {
		t.Errorf("all: exit %d", code)
	}
	o = newOpEnv(t, 1000, nil, nil, nil, nil, "tutorial", "nope")
	if code := o.run(); code != 2 || !strings.Contains(o.stderr.String(), "basics, routing") {
		t.Errorf("unknown chapter: exit %d %s", code, o.stderr)
	}
}

func TestGatewayRefusals(t *testing.T) {
	cases := [][]string{
		{"gateway", "create", "-n", "host", "10.0.0.0/24", "eth0"},
		{"gateway", "create", "-n", "Router", "10.0.0.0/24", "eth0"},
		{"gateway", "create", "-n", "r", "10.0.0.1/24", "eth0"},
		{"gateway", "create", "-n", "r", "10.0.0.0/31", "eth0"},
		{"gateway", "create", "-n", "r", "10.0.0.0/24", "eth0;reboot"},
		{"gateway", "create", "-n", "r", "10.0.0.0/24", "-eth0"},
		{"gateway", "create", "-n", "r", "fd00::/64", "eth0"},
		{"gateway", "create", "-n", "r", "10.0.0.0/24%eth0", "eth0"},
		{"gateway", "create", "-n", "--subnet6", "fd00::1/64", "r", "10.0.0.0/24", "eth0"},
		{"gateway", "create", "-n", "--subnet6", "fd00::/127", "r", "10.0.0.0/24", "eth0"},
		{"gateway", "create", "-n", "--firewall", "pf", "r", "10.0.0.0/24", "eth0"},
		{"gateway", "create", "-n", "r", "10.0.0.0/24", "if-r"},
		{"gateway", "destroy", "-n", "host"},
		{"gateway", "destroy", "-n", "../x"},
		{"gateway", "create", "r", "10.0.0.0/24", "eth0"}, // live without root
	}
	for _, args := range cases {
		o := newOpEnv(t, 1000, nil, nil, nil, nil, args...)
		if code := o.run(); code != 2 {
			t.Errorf("%v: exit %d, want 2: %s", args, code, o.stderr)
		}
		if len(*o.ran) != 0 || o.stdout.Len() != 0 {
			t.Errorf("%v: ran or printed something", args)
		}
		if n := strings.Count(o.stderr.String(), "\n"); n < 1 || n > 2 {
			t.Errorf("%v: stderr %q", args, o.stderr)
		}
	}
}

// TestCompletionShells loads the completion scripts into real shells and
// completes namespace names from a (sandboxed) /run/npte/netns: bash and
// fish run the completion, zsh is checked for syntax (its completion
// system needs an interactive terminal). Shells that are not installed are
// skipped by name.
func TestCompletionShells(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	bin := sandbox.Npte(t)
	dir := filepath.Dir(bin)
	for _, n := range []string{"alpha", "beta"} {
		if err := os.MkdirAll("/run/npte/netns", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile("/run/npte/netns/"+n, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	script := func(sh string) string {
		out, err := exec.Command(bin, "completion", sh).Output()
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(t.TempDir(), "npte."+sh)
		if err := os.WriteFile(f, out, 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}
	env := append(os.Environ(), "PATH="+dir+":"+os.Getenv("PATH"))
	var skipped []string
	if bash, err := exec.LookPath("bash"); err == nil {
		for line, want := range map[string]string{
			"npte netns destroy ":  "alpha beta",
			"npte gateway create ": "alpha beta",
			"npte netns dest":      "destroy",
			"npte tutorial ro":     "routing",
		} {
			words := strings.Fields(line)
			if strings.HasSuffix(line, " ") {
				words = append(words, "")
			}
			cmd := exec.Command(bash, "-c", `source "$1"; COMP_WORDS=("${@:3}"); COMP_CWORD=$((${#COMP_WORDS[@]}-1)); COMP_LINE=$2; COMP_POINT=${#COMP_LINE}; _npte_complete; echo "${COMPREPLY[*]}"`,
				"bash", script("bash"), line)
			cmd.Args = append(cmd.Args, words...)
			cmd.Env = env
			out, err := cmd.CombinedOutput()
			if got := strings.TrimSpace(string(out)); err != nil || got != want {
				t.Errorf("bash %q: got %q (%v), want %q", line, got, err, want)
			}
		}
	} else {
		skipped = append(skipped, "bash")
	}
	if fish, err := exec.LookPath("fish"); err == nil {
		cmd := exec.Command(fish, "--no-config", "-c", `source $argv[1]; complete -C "npte netns destroy "`, script("fish"))
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if got := strings.Join(strings.Fields(string(out)), " "); err != nil || got != "alpha beta" {
			t.Errorf("fish: got %q (%v), want %q", got, err, "alpha beta")
		}
	} else {
		skipped = append(skipped, "fish")
	}
	if zsh, err := exec.LookPath("zsh"); err == nil {
		if out, err := exec.Command(zsh, "-n", script("zsh")).CombinedOutput(); err != nil {
			t.Errorf("zsh -n: %v\n%s", err, out)
		}
		cmd := exec.Command(zsh, "-f", "-c", `autoload -Uz compinit && compinit -u -D; source $1 && print ok`, "zsh", script("zsh"))
		if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "ok") {
			t.Errorf("zsh: loading the script: %v\n%s", err, out)
		}
	} else {
		skipped = append(skipped, "zsh")
	}
	if len(skipped) > 0 {
		t.Logf("not installed, not tested: %s (apt-get install %s)", strings.Join(skipped, ", "), strings.Join(skipped, " "))
	}
}
