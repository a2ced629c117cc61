package netns

import (
	"fmt"
	"os/user"
	"strconv"
	"strings"
	"unicode"

	"github.com/npte/npte/plan"
	"github.com/npte/npte/validate"
)

// RunPath is the PATH the user's command starts with under `netns run`:
// the usual user directories, then the sbin ones so that read-only ip, tc
// and ss work as the user. A `-e PATH=...` pair overrides it (env(1)
// applies assignments in order, the last one wins).
const RunPath = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin"

// Run is a validated `npte netns run`. Every field except Command has
// passed a validator (or, for User and Home, comes from the password
// database after validation); Command is the user's own argv and is the
// only value that reaches an argv unvalidated, after every option and
// assignment of the tools in front of it.
type Run struct {
	// Netns is the managed namespace to run in.
	Netns string
	// User is the unprivileged user ($SUDO_USER or --user, never root) to
	// run as.
	User string
	// UID is User's uid in the host's user database, in decimal (never
	// 0); RequireRunAs checks that User is this uid inside the namespace.
	UID string
	// UserFlag is set when User was named with --user (a root login);
	// the script's header then repeats it.
	UserFlag bool
	// Home is User's home directory (HOME of the command).
	Home string
	// Term is the caller's TERM, passed on when not empty.
	Term string
	// Env are extra KEY=VALUE pairs, in the order given, appended after the
	// minimal environment (so they can override it).
	Env []string
	// Sandbox wraps the command in bubblewrap (see BwrapArgv).
	Sandbox bool
	// Dir is the working directory the sandbox keeps writable (Sandbox
	// only); it must be an absolute, clean path other than "/".
	Dir string
	// Command is the program and its arguments. Command[0] must not
	// contain "=" (env(1) would take it for an assignment) and must not be
	// empty.
	Command []string
}

// BwrapArgv is the bubblewrap prefix of `netns run --sandbox`: the whole
// file system read-only, a private /tmp, fresh /proc and /dev, the working
// directory dir bound writable and made current, the network namespace
// shared (it is the lab namespace), pid, ipc and uts namespaces private,
// and the sandbox killed when its parent dies. It ends with "--", so the
// next word is always the program.
func BwrapArgv(dir string) []string {
	return []string{
		"bwrap",
		"--ro-bind", "/", "/",
		"--tmpfs", "/tmp",
		"--proc", "/proc",
		"--dev", "/dev",
		"--bind", dir, dir,
		"--chdir", dir,
		"--share-net",
		"--unshare-pid", "--unshare-ipc", "--unshare-uts",
		"--die-with-parent",
		"--",
	}
}

// RunArgv is the command line `netns run` hands off to:
//
//	ip netns exec NS runuser -u USER -- [BWRAP... --] env -i -- PATH=RUNPATH HOME=HOME USER=USER LOGNAME=USER [TERM=TERM] [K=V...] CMD [ARG...]
//
// ip netns exec enters the namespace and bind-mounts
// /etc/netns/NS/resolv.conf; runuser drops to the user (no shell, no
// login); env -i starts the command from an empty environment. The "--"
// after -i only ends env's options: GNU env takes the words that follow,
// up to the first one without "=", as assignments, and runs the rest.
func RunArgv(r Run) []string {
	argv := []string{"ip", "netns", "exec", r.Netns, "runuser", "-u", r.User, "--"}
	if r.Sandbox {
		argv = append(argv, BwrapArgv(r.Dir)...)
	}
	argv = append(argv, "env", "-i", "--",
		"PATH="+RunPath, "HOME="+r.Home, "USER="+r.User, "LOGNAME="+r.User)
	if r.Term != "" {
		argv = append(argv, "TERM="+r.Term)
	}
	argv = append(argv, r.Env...)
	return append(argv, r.Command...)
}

// RunPlan is `npte netns run [--user NAME] [-e K=V]... [--sandbox] NS --
// CMD [ARG...]`: under the lock, check the ownership, that /etc/netns/NS
// holds only npte's resolv.conf (ip netns exec mounts it over /etc), and
// that the user is, inside that overlay, the uid the host knows and has no
// group 0; release the lock, then hand off (execve) to RunArgv, so
// that the command's exit status, signals and terminal pass through and a
// long-running command blocks no other npte.
//
// Renders as:
//
//	umask 077; { umask 022; flock -w 2 9 || ...   (Lock)
//		if ! test -f MARKER ...; then ...         (RequireManaged)
//		if test -L /etc/netns ...; then ...       (RequireEtcNetnsClean)
//		if test "$(ip netns exec NS id -u -- USER ...)" != UID; then ...  (RequireRunAs)
//		exec 9>&-                                 (Unlock)
//		exec ip netns exec NS runuser -u USER -- ... CMD ARG...
//	} 9>>/run/npte/lock
func RunPlan(r Run) plan.Plan {
	argv := []string{"netns", "run"}
	if r.UserFlag {
		argv = append(argv, "--user", r.User)
	}
	for _, e := range r.Env {
		argv = append(argv, "-e", e)
	}
	if r.Sandbox {
		argv = append(argv, "--sandbox")
	}
	argv = append(argv, r.Netns, "--")
	argv = append(argv, r.Command...)
	return plan.Plan{
		Argv: argv,
		Steps: []plan.Step{
			plan.Lock{},
			plan.RequireManaged{Name: r.Netns},
			plan.RequireEtcNetnsClean{Name: r.Netns},
			plan.RequireRunAs{Netns: r.Netns, User: r.User, UID: r.UID},
			plan.Unlock{},
			plan.Command{
				Argv:    RunArgv(r),
				Handoff: true,
				Show:    "run " + printable(r.Command[0]) + " in " + r.Netns + " as " + r.User,
			},
		},
	}
}

// printable returns s, or s quoted Go-style when it holds control
// characters, so that step descriptions stay on one line.
func printable(s string) string {
	if strings.ContainsFunc(s, unicode.IsControl) {
		return strconv.Quote(s)
	}
	return s
}

// RunRequest is a `netns run` command line, with what it takes from its
// environment, before NewRun's checks. Netns and Env have passed their
// validators (validate.Netns, validate.Assignment); Command is the user's
// argv as given, after the "--" that introduces it.
type RunRequest struct {
	Netns   string
	User    string // --user NAME, "" when not given
	Env     []string
	Sandbox bool
	Command []string
	// SudoUser and Term are $SUDO_USER and $TERM.
	SudoUser, Term string
	// LookupUser resolves a user name (os/user.Lookup); nil refuses.
	LookupUser func(string) (*user.User, error)
	// UserGroups lists a user's group ids ((*user.User).GroupIds when nil).
	UserGroups func(*user.User) ([]string, error)
	// Getwd returns the real working directory (--sandbox only; nil refuses).
	Getwd func() (string, error)
}

// NewRun checks r and returns the Run it asks for: a command env(1) can
// take intact, the user to run as ($SUDO_USER, or --user for a root
// login: never root, uid 0 or group 0), TERM when it looks like a
// terminal type, and with --sandbox a working directory the sandbox can
// keep writable. Every error is bad input (exit 2) and changes nothing.
func NewRun(r RunRequest) (Run, error) {
	if err := CheckCommand(r.Command); err != nil {
		return Run{}, err
	}
	u, err := runUser(r)
	if err != nil {
		return Run{}, err
	}
	run := Run{
		Netns:    r.Netns,
		User:     u.name,
		UID:      u.uid,
		UserFlag: r.User != "",
		Home:     u.home,
		Term:     termName(r.Term),
		Env:      r.Env,
		Sandbox:  r.Sandbox,
		Command:  r.Command,
	}
	if r.Sandbox {
		if run.Dir, err = sandboxDir(r.Getwd); err != nil {
			return Run{}, err
		}
	}
	return run, nil
}

// CheckCommand refuses a command that cannot be handed to env(1) intact.
// The arguments themselves are the user's and pass as they are.
func CheckCommand(cmd []string) error {
	if len(cmd) == 0 {
		return fmt.Errorf("missing command: npte netns run NS -- CMD [ARG...]")
	}
	for _, a := range cmd {
		if strings.IndexByte(a, 0) >= 0 {
			return fmt.Errorf("invalid command argument %q: must not contain a NUL byte", a)
		}
	}
	switch {
	case cmd[0] == "":
		return fmt.Errorf("invalid command \"\": must not be empty")
	case strings.Contains(cmd[0], "="):
		return fmt.Errorf("invalid command %q: must not contain \"=\" (env(1) would take it for a variable assignment)", cmd[0])
	}
	return nil
}

// runAsUser is the user netns run drops to, as the host knows it.
type runAsUser struct {
	name, uid, home string
}

// runUser returns the user netns run drops to: $SUDO_USER, or --user NAME
// for a caller that did not come through sudo from an unprivileged
// account. Under sudo from such an account, --user may only repeat
// $SUDO_USER: a NOPASSWD grant must not let one user pick another.
// $SUDO_USER=root (root ran sudo) counts as a root login.
func runUser(r RunRequest) (runAsUser, error) {
	sudo, flag := r.SudoUser, r.User
	if flag != "" {
		if err := validate.Username(flag); err != nil {
			return runAsUser{}, fmt.Errorf("--user: %w", err)
		}
		if sudo != "" && sudo != "root" && flag != sudo {
			return runAsUser{}, fmt.Errorf("--user %s: under sudo, netns run runs the command as the user who invoked sudo ($SUDO_USER is %s); --user may only name that user", flag, sudo)
		}
		return checkRunUser(r, "--user", flag)
	}
	switch sudo {
	case "":
		return runAsUser{}, fmt.Errorf("$SUDO_USER is not set: netns run runs the command as the user who invoked sudo, so run it as 'sudo npte netns run ...' from your own account, or, logged in as root, pass --user NAME (to run a command as root, use 'ip netns exec NS CMD')")
	case "root":
		return runAsUser{}, fmt.Errorf("$SUDO_USER is root: netns run never runs a command as root; pass --user NAME to run it as an unprivileged user (to run a command as root, use 'ip netns exec NS CMD')")
	}
	if err := validate.Username(sudo); err != nil {
		return runAsUser{}, fmt.Errorf("$SUDO_USER: %w", err)
	}
	return checkRunUser(r, "$SUDO_USER", sudo)
}

// checkRunUser checks the user named by what ($SUDO_USER or --user): a
// valid name, known, not root nor another name for uid 0, with no gid 0
// as its primary or any supplementary group, and a clean absolute home.
func checkRunUser(r RunRequest, what, name string) (runAsUser, error) {
	if name == "root" {
		return runAsUser{}, fmt.Errorf("%s is root: netns run never runs a command as root; run it as 'sudo npte netns run ...' from an unprivileged account", what)
	}
	if r.LookupUser == nil {
		return runAsUser{}, fmt.Errorf("%s %q: cannot look up users", what, name)
	}
	u, err := r.LookupUser(name)
	if err != nil {
		return runAsUser{}, fmt.Errorf("%s %q: no such user (%v)", what, name, err)
	}
	// Compare numbers, not strings: the pure-Go user lookup returns the
	// passwd field as written, and "00" is uid 0 too.
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return runAsUser{}, fmt.Errorf("%s %q: invalid uid %q in the user database", what, name, u.Uid)
	}
	if uid == 0 {
		return runAsUser{}, fmt.Errorf("%s %q has uid 0: netns run never runs a command as root", what, name)
	}
	groups := r.UserGroups
	if groups == nil {
		groups = (*user.User).GroupIds
	}
	gids, err := groups(u)
	if err != nil {
		return runAsUser{}, fmt.Errorf("%s %q: cannot read its groups (%v)", what, name, err)
	}
	for _, g := range append([]string{u.Gid}, gids...) {
		n, err := strconv.ParseUint(g, 10, 32)
		if err != nil {
			return runAsUser{}, fmt.Errorf("%s %q: invalid gid %q in the user database", what, name, g)
		}
		if n == 0 {
			return runAsUser{}, fmt.Errorf("%s %q is in group 0 (root): netns run never runs a command with root's group", what, name)
		}
	}
	home := u.HomeDir
	if home == "" {
		home = "/" // as login(1) does for a user without a home directory
	}
	if err := validate.AbsPath(home); err != nil {
		return runAsUser{}, fmt.Errorf("home directory of %s: %w", name, err)
	}
	return runAsUser{name: name, uid: strconv.FormatUint(uid, 10), home: home}, nil
}

// termName returns t when it looks like a terminal type (letters, digits
// and "._+-", at most 64 bytes), and "" otherwise: an odd TERM is dropped,
// not passed on.
func termName(t string) string {
	if t == "" || len(t) > 64 {
		return ""
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("._+-", c) >= 0) {
			return ""
		}
	}
	return t
}

// sandboxDir is the working directory --sandbox keeps writable.
func sandboxDir(getwd func() (string, error)) (string, error) {
	if getwd == nil {
		return "", fmt.Errorf("--sandbox: cannot read the working directory")
	}
	dir, err := getwd()
	if err != nil {
		return "", fmt.Errorf("--sandbox: cannot read the working directory: %v", err)
	}
	if err := validate.AbsPath(dir); err != nil {
		return "", fmt.Errorf("--sandbox: working directory: %w", err)
	}
	if dir == "/" {
		return "", fmt.Errorf("--sandbox keeps the working directory writable, and it is /: cd to the directory the command may write to first")
	}
	// Binding one of these writable would undo the sandbox's own mounts
	// (the private /tmp, the fresh /proc and /dev) or expose the kernel's
	// /sys and npte's /run.
	for _, top := range []string{"/tmp", "/proc", "/dev", "/sys", "/run"} {
		if dir == top || strings.HasPrefix(dir, top+"/") {
			return "", fmt.Errorf("--sandbox: the working directory %s is under %s, which the sandbox replaces or protects: cd to a directory elsewhere (e.g. under your home) first", dir, top)
		}
	}
	return dir, nil
}
