package netns

import (
	"strconv"
	"strings"
	"unicode"

	"github.com/npte/npte/plan"
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
