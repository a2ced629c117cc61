// Package container builds the plans of `npte container create|run|boot`:
// a Debian tree made by debootstrap, and systemd-nspawn runs of it
// attached to one of npte's namespaces. The builders are pure functions
// from validated values to a plan.Plan, so that a lab file's node can
// name a tree and reuse them.
//
// The container verbs are not in the NOPASSWD grant: systemd-nspawn runs
// a whole tree as root and debootstrap writes anywhere root can.
package container

import (
	"fmt"
	"strings"

	"github.com/npte/npte/plan"
	"github.com/npte/npte/validate"
)

// Variants are debootstrap's --variant values npte accepts; "standard"
// means no --variant (debootstrap's default set of packages).
var Variants = []string{"minbase", "buildd", "standard"}

// Create is a validated `container create`.
type Create struct {
	Suite   string   // e.g. bookworm
	Rootfs  string   // absolute, clean, root-owned
	Variant string   // one of Variants
	Include []string // extra packages, each a valid Debian package name
}

// DebootstrapArgv is the debootstrap command of c.
func (c Create) DebootstrapArgv() []string {
	argv := []string{"debootstrap"}
	if c.Variant != "standard" {
		argv = append(argv, "--variant="+c.Variant)
	}
	if len(c.Include) > 0 {
		argv = append(argv, "--include="+strings.Join(c.Include, ","))
	}
	return append(argv, c.Suite, c.Rootfs)
}

// CreatePlan is the plan of `container create`: refuse an unsafe or
// non-empty tree, then debootstrap into it.
func CreatePlan(c Create) plan.Plan {
	return plan.Plan{Steps: []plan.Step{
		plan.RequireRootfs{Path: c.Rootfs, Fresh: true},
		// A failed debootstrap leaves a partial tree; the step's
		// description (in the error message) says how to remove it.
		plan.Command{Argv: c.DebootstrapArgv(), Show: "debootstrap " + c.Suite + " into " + c.Rootfs +
			" (if it failed, a partial tree may be left: rm -rf --one-file-system " + c.Rootfs + ")"},
	}}
}

// Bind is one --bind SRC[:DST] (DST defaults to SRC).
type Bind struct{ Src, Dst string }

// String is the value of nspawn's --bind=.
func (b Bind) String() string {
	if b.Dst == "" || b.Dst == b.Src {
		return b.Src
	}
	return b.Src + ":" + b.Dst
}

// Spawn is a validated `container run` or `container boot`.
type Spawn struct {
	Rootfs string
	// Netns is the npte namespace to join; empty means a private network
	// namespace with only a loopback (--private-network).
	Netns        string
	Binds        []Bind
	Capabilities []string
	// Term is the caller's TERM (validated), passed to the container.
	Term string
	// Boot runs the tree's init (systemd) as PID 1; Command must be empty.
	Boot bool
	// Command is what to run (run only); empty means nspawn's default, a
	// shell. It is the user's own argv, handed over after "--".
	Command []string
}

// NetnsPath is the path systemd-nspawn joins for namespace ns.
func NetnsPath(ns string) string { return "/run/netns/" + ns }

// NspawnArgv is the systemd-nspawn command of s. npte always passes
// --register=no and --keep-unit: the container is not registered with
// systemd-machined and stays in the caller's unit, so npte leaves no state
// behind and needs no system bus (there is none in a sandbox).
func NspawnArgv(s Spawn) []string {
	argv := []string{"systemd-nspawn", "--quiet", "--register=no", "--keep-unit"}
	if s.Boot {
		argv = append(argv, "--boot")
	}
	argv = append(argv, "--directory="+s.Rootfs)
	if s.Netns != "" {
		argv = append(argv, "--network-namespace-path="+NetnsPath(s.Netns))
	} else {
		argv = append(argv, "--private-network")
	}
	for _, c := range s.Capabilities {
		argv = append(argv, "--capability="+c)
	}
	for _, b := range s.Binds {
		argv = append(argv, "--bind="+b.String())
	}
	if s.Term != "" {
		argv = append(argv, "--setenv=TERM="+s.Term)
	}
	if !s.Boot && len(s.Command) > 0 {
		argv = append(append(argv, "--"), s.Command...)
	}
	return argv
}

// SpawnPlan is the plan of `container run` and `container boot`: with a
// namespace, check under npte's lock that npte made it and release the
// lock (a container may run for days); refuse an unsafe or missing tree;
// then become systemd-nspawn.
func SpawnPlan(s Spawn) plan.Plan {
	var steps []plan.Step
	if s.Netns != "" {
		steps = append(steps, plan.Lock{}, plan.RequireManaged{Name: s.Netns}, plan.Unlock{})
	}
	what := "run " + s.Rootfs
	if s.Boot {
		what = "boot " + s.Rootfs
	}
	if s.Netns != "" {
		what += " in namespace " + s.Netns
	}
	steps = append(steps,
		plan.RequireRootfs{Path: s.Rootfs},
		plan.Command{Argv: NspawnArgv(s), Handoff: true, Show: what})
	return plan.Plan{Steps: steps}
}

// Suite checks a debootstrap suite (codename): a lowercase letter, then
// lowercase letters and digits, at most 32 bytes (bookworm, trixie, sid,
// noble; not bookworm-updates, which is not a suite debootstrap makes).
func Suite(s string) error {
	const kind = "suite"
	switch {
	case s == "":
		return &validate.Error{Kind: kind, Value: s, Rule: "must not be empty"}
	case len(s) > 32:
		return &validate.Error{Kind: kind, Value: s, Rule: "must be at most 32 characters"}
	case s[0] < 'a' || s[0] > 'z':
		return &validate.Error{Kind: kind, Value: s, Rule: "must start with a lowercase letter a-z"}
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return &validate.Error{Kind: kind, Value: s, Rule: "may contain only lowercase letters a-z and digits 0-9 (a codename such as bookworm)"}
		}
	}
	return nil
}

// Package checks a Debian package name (Debian policy 5.6.7): at least two
// characters, lowercase letters, digits, "+", "-" and ".", starting with a
// letter or digit; at most 100 bytes.
func Package(s string) error {
	const kind = "package name"
	switch {
	case len(s) < 2:
		return &validate.Error{Kind: kind, Value: s, Rule: "must be at least 2 characters"}
	case len(s) > 100:
		return &validate.Error{Kind: kind, Value: s, Rule: "must be at most 100 characters"}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if i == 0 && !alnum {
			return &validate.Error{Kind: kind, Value: s, Rule: "must start with a lowercase letter or digit"}
		}
		if !alnum && c != '+' && c != '-' && c != '.' {
			return &validate.Error{Kind: kind, Value: s, Rule: `may contain only lowercase letters, digits, "+", "-" and "." (Debian policy 5.6.7)`}
		}
	}
	return nil
}

// forbiddenRoots are trees that are not containers: the host's root and
// the kernel's and runtime file systems.
var forbiddenRoots = []string{"/proc", "/sys", "/dev", "/run"}

// Rootfs checks a container tree's path: absolute and clean (no "..",
// ".", "//" or trailing "/"), not "/" and not under /proc, /sys, /dev or
// /run, made of ASCII letters, digits and "/._+@-" only (so that it reads
// as one value in nspawn's options and needs no quoting in a script).
func Rootfs(s string) error {
	if err := validate.AbsPath(s); err != nil {
		return &validate.Error{Kind: "rootfs", Value: s, Rule: err.(*validate.Error).Rule}
	}
	if s == "/" {
		return &validate.Error{Kind: "rootfs", Value: s, Rule: "must not be / (the host's own root)"}
	}
	for _, f := range forbiddenRoots {
		if s == f || strings.HasPrefix(s, f+"/") {
			return &validate.Error{Kind: "rootfs", Value: s, Rule: "must not be under " + f + " (use a path such as /var/lib/machines/NAME)"}
		}
	}
	if !pathChars(s) {
		return &validate.Error{Kind: "rootfs", Value: s, Rule: pathRule}
	}
	return nil
}

// pathRule is the character rule of rootfs and bind paths.
const pathRule = `may contain only ASCII letters, digits and "/._+@-" (no spaces, ":", ",", "\" or shell characters)`

// pathChars reports whether p holds only the characters of pathRule.
func pathChars(p string) bool {
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("/._+@-", c) >= 0) {
			return false
		}
	}
	return true
}

// bindPath checks one side of a bind: absolute, clean, not "/", made of
// the characters of pathRule (nspawn reads ":" as the separator and "\"
// as an escape).
func bindPath(whole, p string) error {
	if err := validate.AbsPath(p); err != nil {
		return &validate.Error{Kind: "bind", Value: whole, Rule: "each side " + err.(*validate.Error).Rule}
	}
	if !pathChars(p) {
		return &validate.Error{Kind: "bind", Value: whole, Rule: "paths " + pathRule}
	}
	if p == "/" {
		return &validate.Error{Kind: "bind", Value: whole, Rule: "must not bind / (the host's whole file system, or over the container's root)"}
	}
	return nil
}

// ParseBind checks and splits a --bind value: SRC or SRC:DST, both
// absolute clean paths other than "/"; nspawn's options (":rbind",
// ":norbind", ":idmap") and its "+" and "-" prefixes are refused.
func ParseBind(s string) (Bind, error) {
	src, dst, two := strings.Cut(s, ":")
	if two && strings.Contains(dst, ":") {
		return Bind{}, &validate.Error{Kind: "bind", Value: s, Rule: "must be SRC or SRC:DST (no bind options)"}
	}
	if err := bindPath(s, src); err != nil {
		return Bind{}, err
	}
	if !two {
		return Bind{Src: src}, nil
	}
	if err := bindPath(s, dst); err != nil {
		return Bind{}, err
	}
	return Bind{Src: src, Dst: dst}, nil
}

// capabilities are the Linux capabilities (capability.h, Linux 6.x).
var capabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
	"CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
	"CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
	"CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND",
	"CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
}

// Capabilities returns the capability names --capability accepts.
func Capabilities() []string { return append([]string(nil), capabilities...) }

// Capability checks a --capability value: one Linux capability name, in
// capitals with its CAP_ prefix (CAP_NET_ADMIN). "all" and lists are
// refused: name each capability the container needs.
func Capability(s string) error {
	for _, c := range capabilities {
		if s == c {
			return nil
		}
	}
	return &validate.Error{Kind: "capability", Value: s, Rule: "must be one Linux capability name such as CAP_NET_ADMIN (repeat --capability for more; \"all\" and lists are refused)"}
}

// Term checks the caller's TERM before it is passed on: 1..64 letters,
// digits and "._+-". An unusable TERM is dropped rather than refused.
func Term(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("._+-", c) >= 0) {
			return false
		}
	}
	return true
}

// Variant checks a --variant value.
func Variant(s string) error {
	for _, v := range Variants {
		if s == v {
			return nil
		}
	}
	return &validate.Error{Kind: "variant", Value: s, Rule: "must be one of " + strings.Join(Variants, ", ")}
}

// NewCreate validates the values of `container create`.
func NewCreate(suite, rootfs, variant string, include []string) (Create, error) {
	if err := Suite(suite); err != nil {
		return Create{}, err
	}
	if err := Rootfs(rootfs); err != nil {
		return Create{}, err
	}
	if err := Variant(variant); err != nil {
		return Create{}, err
	}
	var pkgs []string
	seen := map[string]bool{}
	for _, i := range include {
		// A comma-separated list is accepted, as debootstrap's own
		// --include takes one; each name is checked.
		for _, p := range strings.Split(i, ",") {
			if err := Package(p); err != nil {
				return Create{}, err
			}
			if !seen[p] {
				seen[p] = true
				pkgs = append(pkgs, p)
			}
		}
	}
	return Create{Suite: suite, Rootfs: rootfs, Variant: variant, Include: pkgs}, nil
}

// NewSpawn validates the values of `container run` and `container boot`
// (the command, run only, is the caller's and is checked by the caller).
func NewSpawn(rootfs, netns string, binds, caps []string, term string, boot bool, command []string) (Spawn, error) {
	if err := Rootfs(rootfs); err != nil {
		return Spawn{}, err
	}
	if netns != "" {
		if err := validate.NetnsName(netns); err != nil {
			return Spawn{}, err
		}
	}
	s := Spawn{Rootfs: rootfs, Netns: netns, Boot: boot, Command: command}
	for _, b := range binds {
		pb, err := ParseBind(b)
		if err != nil {
			return Spawn{}, err
		}
		s.Binds = append(s.Binds, pb)
	}
	seen := map[string]bool{}
	for _, c := range caps {
		if err := Capability(c); err != nil {
			return Spawn{}, err
		}
		if !seen[c] {
			seen[c] = true
			s.Capabilities = append(s.Capabilities, c)
		}
	}
	if Term(term) {
		s.Term = term
	}
	if boot && len(command) > 0 {
		return Spawn{}, fmt.Errorf("container boot takes no command")
	}
	return s, nil
}
