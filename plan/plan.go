// Package plan defines npte's Plan: an ordered list of typed steps that is
// either rendered as a POSIX sh script (package render) or executed live
// (package exec). Both read the same Plan, which is what makes a dry-run
// script say exactly what a live run does.
//
// This package holds only the step model. Plan builders (in packages
// netns, shape, lab and gateway) are pure functions from validated
// arguments to a Plan: no I/O, no globals.
//
// Each step type documents the shell it renders to. Paths are written for
// the default state layout (/run/npte); the renderer substitutes the layout
// it is given.
package plan

import "strings"

// Plan is what one npte invocation does, in order.
type Plan struct {
	// Argv is the npte command line that produced the plan, without the
	// program name and without --dry-run; render puts it in the header.
	Argv []string
	// Steps run in order; the first failing step stops the plan.
	Steps []Step
	// Undo is the npte command line (without "npte") that cleans up after a
	// partial run, or nil when there is nothing to undo.
	Undo []string
}

// Step is one unit of a Plan. The concrete types below are the only steps.
type Step interface {
	// Describe is a short human description used in progress and error
	// messages ("create namespace demo").
	Describe() string
	isStep()
}

// Lock takes npte's global lock and makes sure the state directories exist.
// The lock is held until Unlock or the end of the plan: the steps after
// Lock in the same list render inside the group that holds it.
//
// Renders as:
//
//	if test -L /run/npte || { test -e /run/npte && ! test -d /run/npte; } || ... || test -L /run/npte/lock || { test -e /run/npte/lock && ! test -f /run/npte/lock; }; then
//		echo 'npte: ...' >&2; exit 2; fi
//	if test -n "$(find /run/npte ... /run/npte/lock -prune \( ! -user 0 -o -type d \( -perm -020 -o -perm -002 \) -o -type f ! -perm 0600 \) 2>/dev/null)"; then
//		echo 'npte: ...' >&2; exit 2; fi
//	install -d -m 0755 /run/npte /run/npte/netns /run/npte/intent
//	umask 077
//	{
//		umask 022
//		flock -w 2 9 || { printf 'npte: waiting for the lock %s (held by pid %s)\n' ...; flock 9 || exit 1; }
//		STEPS AFTER LOCK...
//	} 9>>/run/npte/lock
type Lock struct{}

// Unlock releases the global lock before the end of the plan (netns run
// releases it before the user's command starts).
//
// Renders as: exec 9>&-
type Unlock struct{}

// RequireManaged refuses to go on unless Name carries npte's marker: a
// regular file (not a symlink) /run/npte/netns/NAME.
//
// Renders as:
//
//	if ! test -f /run/npte/netns/NAME || test -L /run/npte/netns/NAME; then
//		echo 'npte: NAME: not managed by npte ...' >&2; exit 2; fi
type RequireManaged struct{ Name string }

// RequireOwned refuses to go on unless Name carries npte's marker or an
// intent record (a create that did not finish). destroy uses it, so that it
// can clean up a namespace whose create was interrupted.
//
// Renders as:
//
//	if ! { test -f MARKER && ! test -L MARKER; } && ! { test -f INTENT && ! test -L INTENT; }; then
//		echo ... >&2; exit 2; fi
type RequireOwned struct{ Name string }

// RequireAbsent refuses to go on if Name is taken: by a marker, an intent
// record or a kernel namespace /run/netns/NAME; or if /run/netns exists and
// is not a directory (ip netns add would fail after the intent record).
//
// Renders as:
//
//	if test -e /run/netns && ! test -d /run/netns; then echo 'npte: /run/netns is not a directory ...' >&2; exit 2; fi
//	if test -e MARKER || test -L MARKER || test -e INTENT || test -L INTENT || test -e /run/netns/NAME || test -L /run/netns/NAME; then
//		echo 'npte: NAME: already exists' >&2; exit 2; fi
type RequireAbsent struct{ Name string }

// RequireNoSymlink refuses to go on if any of Paths is a symbolic link.
// Paths are literal, absolute paths built from validated names.
//
// Renders as: if test -L P1 || test -L P2; then echo ... >&2; exit 2; fi
type RequireNoSymlink struct{ Paths []string }

// RequireEtcNetnsAbsent refuses to go on (exit 2) unless /etc/netns is
// safe to write into (absent, or a real directory owned by root that
// group and others cannot write) and /etc/netns/NAME does not exist at
// all. `ip netns exec` bind-mounts every entry of /etc/netns/NAME over
// /etc, so a directory npte did not make could hand a planted passwd (or
// ld.so.preload) to every command run in the namespace; create refuses it
// instead of adopting it. The names npte creates have no entry of npte's
// own there: RequireAbsent already proved that no marker or intent record
// exists.
//
// Renders as:
//
//	if test -L /etc/netns || { test -e /etc/netns && ! test -d /etc/netns; } || test -n "$(find /etc/netns -prune \( ! -user 0 -o -perm -020 -o -perm -002 \) 2>/dev/null)"; then
//		echo 'npte: /etc/netns ...' >&2; exit 2; fi
//	if test -e /etc/netns/NAME || test -L /etc/netns/NAME; then
//		echo 'npte: /etc/netns/NAME already exists ...' >&2; exit 2; fi
type RequireEtcNetnsAbsent struct{ Name string }

// RequireEtcNetnsClean refuses to go on (exit 2) unless /etc/netns is safe
// (as for RequireEtcNetnsAbsent) and /etc/netns/NAME is either absent or a
// real directory owned by root, not writable by group or others, holding
// nothing but what npte writes there: a regular file resolv.conf owned by
// root and not writable by group or others. netns run uses it before
// anything runs inside the namespace's /etc overlay.
//
// Renders as:
//
//	if test -L /etc/netns || ...; then echo 'npte: /etc/netns ...' >&2; exit 2; fi
//	if test -L /etc/netns/NAME || { test -e /etc/netns/NAME && ! test -d /etc/netns/NAME; } ||
//		test -n "$(find /etc/netns/NAME -prune \( ! -user 0 -o -perm -020 -o -perm -002 \) 2>/dev/null)" ||
//		test -n "$(find /etc/netns/NAME/. ! -name . -prune ! \( -name resolv.conf -type f -user 0 ! -perm -020 ! -perm -002 \) 2>/dev/null)"; then
//		echo 'npte: /etc/netns/NAME holds ...' >&2; exit 2; fi
type RequireEtcNetnsClean struct{ Name string }

// RequireRunAs refuses to go on (exit 2) unless, inside namespace Netns
// (after `ip netns exec` has mounted /etc/netns/NETNS over /etc), User
// resolves to uid UID and to no group 0, primary or supplementary: what
// runuser will actually give the command. UID is the decimal uid the host
// user database gave (never 0).
//
// Renders as:
//
//	if test "$(ip netns exec NETNS id -u -- USER 2>/dev/null)" != UID; then
//		echo 'npte: ...' >&2; exit 2; fi
//	case " $(ip netns exec NETNS id -G -- USER 2>/dev/null) " in
//	*" 0 "* | "  ")
//		echo 'npte: ...' >&2; exit 2 ;;
//	esac
type RequireRunAs struct {
	Netns string
	User  string
	UID   string
}

// RunNetns is where iproute2 keeps the namespaces it names (`ip netns
// add NAME` bind-mounts the namespace on RunNetns/NAME; `ip -n NAME`
// opens it there).
const RunNetns = "/run/netns"

// EnterNetns is the start of an argv that runs a program inside the
// namespace name, as nsenter does it: it joins the namespace and execs the
// program, without the mount namespace of its own that `ip -n NAME` and
// `ip netns exec NAME` set up (copying every mount, one more per
// namespace, so their cost grows with the number of namespaces: about 2.3
// ms per call beside 100 namespaces, 5.1 ms beside 1000, against 2.3 and
// 2.9 ms for nsenter). The program sees the namespace's links, routes and
// sysctls; /sys stays the caller's, which ip's and tc's netlink commands
// and sysctl's /proc/sys do not read.
func EnterNetns(name string) []string {
	return []string{"nsenter", "--net=" + RunNetns + "/" + name}
}

// EtcNetns is where `ip netns exec` looks for per-namespace files
// (/etc/netns/NAME/resolv.conf is bind-mounted over /etc/resolv.conf).
const EtcNetns = "/etc/netns"

// EtcNetnsDir is the directory `ip netns exec` mounts over /etc in name.
func EtcNetnsDir(name string) string { return EtcNetns + "/" + name }

// EtcNetnsUnsafe is the refusal of an unsafe /etc/netns (both steps).
const EtcNetnsUnsafe = EtcNetns + " is a symbolic link, not a directory, not owned by root, or writable by group or others; refusing to use it (ip netns exec mounts what it holds over /etc)"

// Refusal is the one-line message of a refused /etc/netns/NAME.
func (s RequireEtcNetnsAbsent) Refusal() string {
	d := EtcNetnsDir(s.Name)
	return d + " already exists and npte did not make it (ip netns exec would mount what it holds over /etc in the namespace); look at it and remove it as root before creating " + s.Name
}

// Refusal is the one-line message of a refused /etc/netns/NAME.
func (s RequireEtcNetnsClean) Refusal() string {
	d := EtcNetnsDir(s.Name)
	return d + " holds something npte did not write (only a root-owned resolv.conf that group and others cannot write may be there, in a root-owned directory; ip netns exec mounts all of it over /etc); refusing to run anything in " + s.Name
}

// UIDArgv is the command whose output must be UID.
func (s RequireRunAs) UIDArgv() []string {
	return []string{"ip", "netns", "exec", s.Netns, "id", "-u", "--", s.User}
}

// GroupsArgv is the command whose output must name no group 0.
func (s RequireRunAs) GroupsArgv() []string {
	return []string{"ip", "netns", "exec", s.Netns, "id", "-G", "--", s.User}
}

// UIDRefusal is the message when User is not uid UID inside Netns.
func (s RequireRunAs) UIDRefusal() string {
	return "inside " + s.Netns + ", user " + s.User + " is not uid " + s.UID + " as the host user database says (or cannot be looked up); refusing to run"
}

// GroupsRefusal is the message when User has group 0 inside Netns.
func (s RequireRunAs) GroupsRefusal() string {
	return "inside " + s.Netns + ", user " + s.User + " has group 0 (root) or no group at all; refusing to run"
}

func (RequireEtcNetnsAbsent) isStep() {}
func (RequireEtcNetnsClean) isStep()  {}
func (RequireRunAs) isStep()          {}

// Describe implements Step.
func (s RequireEtcNetnsAbsent) Describe() string {
	return "check that " + EtcNetnsDir(s.Name) + " does not exist"
}

// Describe implements Step.
func (s RequireEtcNetnsClean) Describe() string {
	return "check that " + EtcNetnsDir(s.Name) + " holds only npte's resolv.conf"
}

// Describe implements Step.
func (s RequireRunAs) Describe() string {
	return "check that " + s.User + " is uid " + s.UID + " without group 0 inside " + s.Netns
}

// Probe runs a read-only command (output discarded) and refuses to go on
// (exit 2, with Message) unless it succeeds (WantSuccess) or fails
// (!WantSuccess).
//
// Renders as:
//
//	if ! ARGV >/dev/null 2>&1; then echo 'npte: MESSAGE' >&2; exit 2; fi   (WantSuccess)
//	if ARGV >/dev/null 2>&1; then echo 'npte: MESSAGE' >&2; exit 2; fi     (!WantSuccess)
type Probe struct {
	Argv        []string
	WantSuccess bool
	Message     string
}

// RequireIface refuses to go on (exit 2, before any change) unless
// namespace NS has an interface Iface: the guard of the verbs that name an
// interface (netns assign-addr, add-route --dev, netem, netem show).
//
// Renders as:
//
//	if ! ip -n NS link show dev IFACE >/dev/null 2>&1; then
//		echo 'npte: NS has no interface IFACE' >&2; exit 2; fi
type RequireIface struct{ NS, Iface string }

// Probe is the equivalent Probe, which render and exec run.
func (s RequireIface) Probe() Probe {
	return Probe{Argv: []string{"ip", "-n", s.NS, "link", "show", "dev", s.Iface}, WantSuccess: true, Message: s.Refusal()}
}

// Refusal is the message when NS has no interface Iface.
func (s RequireIface) Refusal() string { return s.NS + " has no interface " + s.Iface }

func (RequireIface) isStep() {}

// Describe implements Step.
func (s RequireIface) Describe() string { return s.Refusal() }

// Command runs an external program from the allowlist.
//
// Renders as:
//
//	ARGV || exit 1                        (plain: a failure exits 1, as live)
//	ARGV 2>/dev/null || true              (Tolerant: a failure is expected and accepted)
//	ARGV <<'NPTE_EOF' || exit 1           (Stdin: the payload as a quoted heredoc)
//	ARGV 2>/dev/null <<'NPTE_EOF' || true (Stdin and Tolerant)
//	exec ARGV                             (Handoff: npte becomes the program; last step)
type Command struct {
	Argv []string
	// Stdin, when not empty, is fed to the program's standard input.
	Stdin string
	// Tolerant marks a step whose failure (non-zero exit, or a program that
	// is not installed) is expected and accepted, as with "|| true" in sh:
	// "remove X if it is there". Its error output is discarded, since the
	// complaint it would print ("Cannot find device") is the expected case.
	Tolerant bool
	// Handoff replaces npte with the program (execve), so that its exit
	// status, signals and terminal pass through untouched. Only the last
	// step of a plan may hand off.
	Handoff bool
	// Show is the description for progress and error messages; when empty,
	// the argv is used.
	Show string
}

// WriteMarker marks Name as managed by npte. It is written last by create.
// Live mode creates it with O_CREAT|O_EXCL|O_NOFOLLOW.
//
// Renders as: (set -C; : >/run/npte/netns/NAME)
type WriteMarker struct{ Name string }

// RemoveMarker unmarks Name. It is removed last by destroy.
//
// Renders as: rm -f -- /run/npte/netns/NAME
type RemoveMarker struct{ Name string }

// WriteIntent records, before any kernel change, that npte is creating
// Name, so that an interrupted create can be cleaned up by destroy.
//
// Renders as: (set -C; : >/run/npte/intent/NAME)
type WriteIntent struct{ Name string }

// RemoveIntent drops the intent record of Name once its marker exists (or
// once destroy is done).
//
// Renders as: rm -f -- /run/npte/intent/NAME
type RemoveIntent struct{ Name string }

// IfOwned runs Then only when Name carries npte's marker or intent record,
// and otherwise reports that it skips Name. lab destroy uses it so that a
// half-built lab can be torn down.
//
// Renders as:
//
//	if { test -f MARKER && ! test -L MARKER; } || { test -f INTENT && ! test -L INTENT; }; then
//		THEN...
//	else
//		echo 'npte: NAME: not managed by npte, skipped' >&2
//	fi
type IfOwned struct {
	Name string
	Then []Step
}

// Note is a message for the user: a comment in the script, a line on
// stderr in live mode. It changes nothing.
//
// Renders as: # TEXT
type Note struct{ Text string }

func (Lock) isStep()             {}
func (Unlock) isStep()           {}
func (RequireManaged) isStep()   {}
func (RequireOwned) isStep()     {}
func (RequireAbsent) isStep()    {}
func (RequireNoSymlink) isStep() {}
func (Probe) isStep()            {}
func (Command) isStep()          {}
func (WriteMarker) isStep()      {}
func (RemoveMarker) isStep()     {}
func (WriteIntent) isStep()      {}
func (RemoveIntent) isStep()     {}
func (IfOwned) isStep()          {}
func (Note) isStep()             {}

// Describe implements Step.
func (Lock) Describe() string { return "take the npte lock" }

// Describe implements Step.
func (Unlock) Describe() string { return "release the npte lock" }

// Describe implements Step.
func (s RequireManaged) Describe() string { return "check that " + s.Name + " is managed by npte" }

// Describe implements Step.
func (s RequireOwned) Describe() string { return "check that " + s.Name + " was made by npte" }

// Describe implements Step.
func (s RequireAbsent) Describe() string { return "check that " + s.Name + " does not exist yet" }

// Describe implements Step.
func (s RequireNoSymlink) Describe() string { return "check for symbolic links" }

// Describe implements Step.
func (s Probe) Describe() string { return s.Message }

// Describe implements Step.
func (s Command) Describe() string {
	if s.Show != "" {
		return s.Show
	}
	return strings.Join(s.Argv, " ")
}

// Describe implements Step.
func (s WriteMarker) Describe() string { return "mark " + s.Name + " as managed by npte" }

// Describe implements Step.
func (s RemoveMarker) Describe() string { return "remove the npte marker of " + s.Name }

// Describe implements Step.
func (s WriteIntent) Describe() string { return "record the intent to create " + s.Name }

// Describe implements Step.
func (s RemoveIntent) Describe() string { return "drop the intent record of " + s.Name }

// Describe implements Step.
func (s IfOwned) Describe() string { return "if " + s.Name + " was made by npte" }

// Describe implements Step.
func (s Note) Describe() string { return s.Text }

// IfNetns runs Then only when the kernel namespace Name exists
// (/run/netns/NAME), so that destroy works whatever survived.
//
// Renders as: if test -e /run/netns/NAME; then THEN...; fi
type IfNetns struct {
	Name string
	Then []Step
}

func (IfNetns) isStep() {}

// Describe implements Step.
func (s IfNetns) Describe() string { return "if namespace " + s.Name + " exists" }

// Count returns the number of steps, counting those inside IfOwned,
// IfNetns, IfOutput, IfGatewayRecord and both branches of IfOnlyOwned as
// well as the conditional steps themselves (the M of "step N/M").
func Count(steps []Step) int {
	n := 0
	Walk(steps, func(Step) { n++ })
	return n
}

// Walk calls fn for every step, depth first, including the steps inside
// IfOwned, IfNetns, IfOutput, IfGatewayRecord and IfOnlyOwned (Then, then
// Else), each after the conditional step itself, and the steps of each
// lane of Lanes, lane by lane, after the Lanes step.
func Walk(steps []Step, fn func(Step)) {
	for _, s := range steps {
		fn(s)
		switch s := s.(type) {
		case IfOwned:
			Walk(s.Then, fn)
		case IfNetns:
			Walk(s.Then, fn)
		case IfOutput:
			Walk(s.Then, fn)
		case IfGatewayRecord:
			Walk(s.Then, fn)
		case IfOnlyOwned:
			Walk(s.Then, fn)
			Walk(s.Else, fn)
		case Lanes:
			for _, l := range s.Lanes {
				Walk(l, fn)
			}
		}
	}
}
