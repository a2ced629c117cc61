package cli

import (
	"fmt"
	"net/netip"
	"os/user"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/npte/npte/netns"
	"github.com/npte/npte/validate"
)

// NetnsConnectCmd is `npte netns connect LEFT RIGHT`.
type NetnsConnectCmd struct {
	DryRun
	Left  string `arg:"" predictor:"netns" help:"A namespace made by npte; its end of the link is named if-RIGHT."`
	Right string `arg:"" predictor:"netns" help:"Another namespace made by npte; its end is named if-LEFT."`
}

// Help is the long help of netns connect.
func (c *NetnsConnectCmd) Help() string {
	return `Links LEFT and RIGHT with a veth pair: the end inside LEFT is named if-RIGHT, the end
inside RIGHT is named if-LEFT, so 'ip link' inside a namespace says where each link leads.
Under npte's lock it checks that both namespaces carry npte's marker and that neither end
exists yet, then runs, in one atomic command (no end ever appears on the host side, even
if it fails):

  ip link add name if-RIGHT netns LEFT type veth peer name if-LEFT netns RIGHT

and brings both ends up ('ip -n NS link set dev IF up'). It assigns no address: use
'npte netns assign-addr'.

Refuses (exit 2, nothing changed): an invalid name, LEFT equal to RIGHT, a namespace
npte did not make, two namespaces that are already connected.`
}

// Run implements the verb.
func (c *NetnsConnectCmd) Run(app *App) error {
	for _, n := range []string{c.Left, c.Right} {
		if err := validate.NetnsName(n); err != nil {
			return Usage(err)
		}
	}
	if c.Left == c.Right {
		return Usagef("cannot connect %s to itself: LEFT and RIGHT must be two different namespaces", c.Left)
	}
	return app.Apply(netns.Connect(c.Left, c.Right), c.DryRun.DryRun)
}

// NetnsAssignAddrCmd is `npte netns assign-addr NS IFACE CIDR`.
type NetnsAssignAddrCmd struct {
	DryRun
	Name  string `arg:"" predictor:"netns" name:"ns" help:"A namespace made by npte."`
	Iface string `arg:"" name:"iface" help:"An interface inside NS, such as if-router (see 'npte netns connect')."`
	CIDR  string `arg:"" name:"cidr" help:"Address and prefix length, IPv4 (10.0.0.1/24) or IPv6 (fd00::1/64)."`
}

// Help is the long help of netns assign-addr.
func (c *NetnsAssignAddrCmd) Help() string {
	return `Adds the address CIDR to interface IFACE inside namespace NS. Under npte's lock it
checks NS's marker and that IFACE exists in NS, then runs

  ip -n NS addr replace CIDR dev IFACE            (IPv4)
  ip -n NS addr replace CIDR dev IFACE nodad      (IPv6: usable at once, no DAD wait)

The kernel adds the connected route. Assigning the same address twice is not an error.
Run it once per family for a dual-stack link.

Refuses (exit 2, nothing changed): an invalid name, an invalid interface name (more than
15 bytes, "/", ":", "#", spaces, a leading "-"), a CIDR that is not ADDRESS/LENGTH or
carries an IPv6 zone (%eth0), a namespace npte did not make, an interface NS lacks.`
}

// Run implements the verb.
func (c *NetnsAssignAddrCmd) Run(app *App) error {
	if err := validate.NetnsName(c.Name); err != nil {
		return Usage(err)
	}
	if err := validate.IfaceName(c.Iface); err != nil {
		return Usage(err)
	}
	p, err := validate.CIDR(c.CIDR)
	if err != nil {
		return Usage(err)
	}
	return app.Apply(netns.AssignAddr(c.Name, c.Iface, p), c.DryRun.DryRun)
}

// NetnsAddRouteCmd is `npte netns add-route NS DEST VIA [--dev IFACE]`.
type NetnsAddRouteCmd struct {
	DryRun
	Dev  string `name:"dev" placeholder:"IFACE" help:"Send through this interface of NS (needed when VIA is link-local)."`
	Name string `arg:"" predictor:"netns" name:"ns" help:"A namespace made by npte."`
	Dest string `arg:"" name:"dest" help:"'default', or a network such as 10.0.2.0/24 or fd00:2::/64 (no host bits)."`
	Via  string `arg:"" name:"via" help:"The next hop: an address of DEST's family, such as 10.0.3.1 or fd00:3::1."`
}

// Help is the long help of netns add-route.
func (c *NetnsAddRouteCmd) Help() string {
	return `Adds a route to DEST via the next hop VIA inside namespace NS. Under npte's lock it
checks NS's marker (and that --dev IFACE exists in NS), then runs

  ip -n NS route replace DEST via VIA [dev IFACE]        (IPv4)
  ip -n NS -6 route replace DEST via VIA [dev IFACE]     (IPv6; 'default' is ::/0)

Adding the same route twice is not an error; a second run replaces the next hop.

Refuses (exit 2, nothing changed): an invalid name, a DEST that is neither 'default' nor
a network without host bits (10.0.2.1/24 is refused: did you mean 10.0.2.0/24?), a VIA
that is not a plain address (no prefix length, no IPv6 zone), DEST and VIA of different
families, a multicast or unspecified VIA, a link-local VIA without --dev, a namespace npte
did not make.`
}

// Run implements the verb.
func (c *NetnsAddRouteCmd) Run(app *App) error {
	if err := validate.NetnsName(c.Name); err != nil {
		return Usage(err)
	}
	via, err := validate.IPAddr(c.Via)
	if err != nil {
		return Usage(err)
	}
	dest := "default"
	if c.Dest != "default" {
		p, err := validate.Subnet(c.Dest)
		if err != nil {
			return Usage(err)
		}
		if p.Addr().Is4() != via.Is4() {
			return Usagef("DEST %s is %s but VIA %s is %s: a route and its next hop must be of one family", p, family(p.Addr()), via, family(via))
		}
		dest = p.String()
	}
	switch {
	case via.IsUnspecified(), via.IsMulticast():
		return Usagef("invalid next hop %s: VIA must be a unicast address of a neighbour", via)
	case via.IsLinkLocalUnicast() && c.Dev == "":
		return Usagef("next hop %s is link-local: name the interface it is reached through with --dev IFACE", via)
	}
	if c.Dev != "" {
		if err := validate.IfaceName(c.Dev); err != nil {
			return Usage(err)
		}
	}
	return app.Apply(netns.AddRoute(c.Name, dest, via, c.Dev), c.DryRun.DryRun)
}

func family(a netip.Addr) string {
	if a.Is4() {
		return "IPv4"
	}
	return "IPv6"
}

// NetnsRunCmd is `npte netns run [--user NAME] [-e KEY=VALUE]... [--sandbox] NS -- CMD [ARG...]`.
type NetnsRunCmd struct {
	DryRun
	User    string   `name:"user" placeholder:"NAME" help:"Run as NAME: for root logged in directly (a VM, a container); under sudo it may only repeat $SUDO_USER."`
	Setenv  []string `short:"e" name:"env" sep:"none" placeholder:"KEY=VALUE" help:"Set a variable in the command's environment (repeatable; the value may contain '=' and ',')."`
	Sandbox bool     `help:"Run the command in bubblewrap: / read-only, private /tmp, the working directory writable."`
	Name    string   `arg:"" predictor:"netns" name:"ns" help:"A namespace made by npte."`
	Command []string `arg:"" passthrough:"partial" placeholder:"-- CMD [ARG...]" help:"The command and its arguments; npte reads no option after CMD."`
}

// Help is the long help of netns run.
func (c *NetnsRunCmd) Help() string {
	return `Runs CMD inside namespace NS as the user who invoked sudo ($SUDO_USER), never as root.
Under npte's lock it checks NS's marker; that /etc/netns/NS holds nothing but npte's
resolv.conf (root-owned, not writable by group or others: 'ip netns exec' mounts every
file there over /etc); and that inside NS, after that overlay, the user is the uid the
host knows and has no group 0 ('ip netns exec NS id -u -- USER', 'id -G'). It releases
the lock, then becomes (execve)

  ip netns exec NS runuser -u $SUDO_USER -- env -i -- PATH=` + netns.RunPath + `
      HOME=~ USER=$SUDO_USER LOGNAME=$SUDO_USER [TERM=$TERM] [KEY=VALUE...] CMD [ARG...]

so /etc/netns/NS/resolv.conf applies, the command starts from an empty environment plus
the -e pairs (later ones override earlier ones), and its exit status, terminal, stdin,
stdout, stderr and signals (Ctrl-C) pass through. npte parses no option after CMD; put
'--' before CMD when it starts with '-'.

Logged in as root without sudo (a VM, a container; sudo from root, $SUDO_USER=root,
counts as such), name the user with --user NAME; it is checked exactly as $SUDO_USER is.
Under sudo from an unprivileged account, --user may only repeat $SUDO_USER: a sudoers
grant never lets one user run commands as another. To run a command as root in NS, root
uses 'ip netns exec NS CMD' itself.

--sandbox puts bubblewrap between runuser and env:

  bwrap --ro-bind / / --tmpfs /tmp --proc /proc --dev /dev --bind CWD CWD --chdir CWD
        --share-net --unshare-pid --unshare-ipc --unshare-uts --die-with-parent --

(the whole file system read-only except a private /tmp and the working directory; the
lab network shared; its own pids; killed when npte's process dies). CWD is the real
working directory, with every symbolic link resolved (never $PWD).

Refuses (exit 2, nothing changed): an invalid name; no user to run as ($SUDO_USER unset
or root, and no --user); a user ($SUDO_USER or --user) that is malformed, unknown, root,
of uid 0, or whose primary or any supplementary group is gid 0; a --user other than
$SUDO_USER under sudo; an -e pair that is not KEY=VALUE with KEY a letter or '_' then
letters, digits or '_'; a missing CMD, or a CMD containing '=' (env(1) would take it for
an assignment); with --sandbox, a working directory that is '/', under /tmp, /proc, /dev,
/sys or /run (the sandbox replaces or protects those), or not a clean absolute path; a
namespace npte did not make; an /etc/netns/NS holding anything else than npte's
resolv.conf; a user who is another uid, or has group 0, inside NS.`
}

// Run implements the verb.
func (c *NetnsRunCmd) Run(app *App) error {
	if err := validate.NetnsName(c.Name); err != nil {
		return Usage(err)
	}
	cmd, err := rawCommand(app.Env.Args, c.Command)
	if err != nil {
		return err
	}
	if len(cmd) > 0 && cmd[0] == "--" {
		cmd = cmd[1:] // kong keeps the "--" that introduces a passthrough argument
	}
	if err := checkCommand(cmd); err != nil {
		return err
	}
	for _, e := range c.Setenv {
		if _, _, err := validate.EnvAssignment(e); err != nil {
			return Usage(err)
		}
	}
	u, err := runUser(app.Env, c.User)
	if err != nil {
		return err
	}
	r := netns.Run{
		Netns:    c.Name,
		User:     u.name,
		UID:      u.uid,
		UserFlag: c.User != "",
		Home:     u.home,
		Term:     termName(app.Env.Getenv("TERM")),
		Env:      c.Setenv,
		Sandbox:  c.Sandbox,
		Command:  cmd,
	}
	if c.Sandbox {
		if r.Dir, err = sandboxDir(app.Env); err != nil {
			return err
		}
	}
	if !c.DryRun.DryRun {
		if err := app.RequireRoot(); err != nil {
			return err
		}
		// The handoff resolves only ip; the programs it chains to must be
		// there too, or the command would fail after the lock check with a
		// less helpful message.
		tools := []string{"ip", "id", "runuser", "env"}
		if c.Sandbox {
			tools = append(tools, "bwrap")
		}
		runner := app.Runner()
		for _, t := range tools {
			if _, err := runner.Resolve(t); err != nil {
				return fmt.Errorf("cannot run the command: %w", err)
			}
		}
	}
	return app.Apply(netns.RunPlan(r), c.DryRun.DryRun)
}

// rawCommand returns the words of the command exactly as they were
// given. kong replaces invalid UTF-8 in what it parses with U+FFFD, and a
// file name in another encoding must reach the command unchanged; the
// passthrough words are the last len(parsed) arguments, one for one. Every
// argument before them must be valid UTF-8, so that no -e value is altered
// behind the user's back.
func rawCommand(args, parsed []string) ([]string, error) {
	if len(parsed) > len(args) {
		return parsed, nil
	}
	split := len(args) - len(parsed)
	raw := args[split:]
	for i := range raw {
		if raw[i] != parsed[i] && string([]rune(raw[i])) != parsed[i] {
			return parsed, nil // not the tail after all: keep kong's words
		}
	}
	for _, a := range args[:split] {
		if !utf8.ValidString(a) {
			return nil, Usagef("invalid argument %q: must be valid UTF-8 (only the command's own words may be in another encoding)", a)
		}
	}
	return raw, nil
}

// checkCommand refuses a command that cannot be handed to env(1) intact.
// The arguments themselves are the user's and pass as they are.
func checkCommand(cmd []string) error {
	if len(cmd) == 0 {
		return Usagef("missing command: npte netns run NS -- CMD [ARG...]")
	}
	for _, a := range cmd {
		if strings.IndexByte(a, 0) >= 0 {
			return Usagef("invalid command argument %q: must not contain a NUL byte", a)
		}
	}
	switch {
	case cmd[0] == "":
		return Usagef("invalid command \"\": must not be empty")
	case strings.Contains(cmd[0], "="):
		return Usagef("invalid command %q: must not contain \"=\" (env(1) would take it for a variable assignment)", cmd[0])
	}
	return nil
}

// runAsUser is the user netns run drops to, as the host knows it.
type runAsUser struct {
	name, uid, home string
}

// runUser returns the user netns run drops to: $SUDO_USER, or --user NAME
// (flag) for a caller that did not come through sudo from an unprivileged
// account. Under sudo from such an account, --user may only repeat
// $SUDO_USER: a NOPASSWD grant must not let one user pick another.
// $SUDO_USER=root (root ran sudo) counts as a root login.
func runUser(env Env, flag string) (runAsUser, error) {
	sudo := env.Getenv("SUDO_USER")
	if flag != "" {
		if err := validate.Username(flag); err != nil {
			return runAsUser{}, Usagef("--user: %w", err)
		}
		if sudo != "" && sudo != "root" && flag != sudo {
			return runAsUser{}, Usagef("--user %s: under sudo, netns run runs the command as the user who invoked sudo ($SUDO_USER is %s); --user may only name that user", flag, sudo)
		}
		return checkRunUser(env, "--user", flag)
	}
	switch sudo {
	case "":
		return runAsUser{}, Usagef("$SUDO_USER is not set: netns run runs the command as the user who invoked sudo, so run it as 'sudo npte netns run ...' from your own account, or, logged in as root, pass --user NAME (to run a command as root, use 'ip netns exec NS CMD')")
	case "root":
		return runAsUser{}, Usagef("$SUDO_USER is root: netns run never runs a command as root; pass --user NAME to run it as an unprivileged user (to run a command as root, use 'ip netns exec NS CMD')")
	}
	if err := validate.Username(sudo); err != nil {
		return runAsUser{}, Usagef("$SUDO_USER: %w", err)
	}
	return checkRunUser(env, "$SUDO_USER", sudo)
}

// checkRunUser checks the user named by what ($SUDO_USER or --user): a
// valid name, known, not root nor another name for uid 0, with no gid 0
// as its primary or any supplementary group, and a clean absolute home.
func checkRunUser(env Env, what, name string) (runAsUser, error) {
	if name == "root" {
		return runAsUser{}, Usagef("%s is root: netns run never runs a command as root; run it as 'sudo npte netns run ...' from an unprivileged account", what)
	}
	lookup := env.LookupUser
	if lookup == nil {
		return runAsUser{}, Usagef("%s %q: cannot look up users", what, name)
	}
	u, err := lookup(name)
	if err != nil {
		return runAsUser{}, Usagef("%s %q: no such user (%v)", what, name, err)
	}
	// Compare numbers, not strings: the pure-Go user lookup returns the
	// passwd field as written, and "00" is uid 0 too.
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return runAsUser{}, Usagef("%s %q: invalid uid %q in the user database", what, name, u.Uid)
	}
	if uid == 0 {
		return runAsUser{}, Usagef("%s %q has uid 0: netns run never runs a command as root", what, name)
	}
	groups := env.UserGroups
	if groups == nil {
		groups = (*user.User).GroupIds
	}
	gids, err := groups(u)
	if err != nil {
		return runAsUser{}, Usagef("%s %q: cannot read its groups (%v)", what, name, err)
	}
	for _, g := range append([]string{u.Gid}, gids...) {
		n, err := strconv.ParseUint(g, 10, 32)
		if err != nil {
			return runAsUser{}, Usagef("%s %q: invalid gid %q in the user database", what, name, g)
		}
		if n == 0 {
			return runAsUser{}, Usagef("%s %q is in group 0 (root): netns run never runs a command with root's group", what, name)
		}
	}
	home := u.HomeDir
	if home == "" {
		home = "/" // as login(1) does for a user without a home directory
	}
	if err := validate.AbsPath(home); err != nil {
		return runAsUser{}, Usagef("home directory of %s: %w", name, err)
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
func sandboxDir(env Env) (string, error) {
	getwd := env.Getwd
	if getwd == nil {
		return "", Usagef("--sandbox: cannot read the working directory")
	}
	dir, err := getwd()
	if err != nil {
		return "", Usagef("--sandbox: cannot read the working directory: %v", err)
	}
	if err := validate.AbsPath(dir); err != nil {
		return "", Usagef("--sandbox: working directory: %w", err)
	}
	if dir == "/" {
		return "", Usagef("--sandbox keeps the working directory writable, and it is /: cd to the directory the command may write to first")
	}
	// Binding one of these writable would undo the sandbox's own mounts
	// (the private /tmp, the fresh /proc and /dev) or expose the kernel's
	// /sys and npte's /run.
	for _, top := range []string{"/tmp", "/proc", "/dev", "/sys", "/run"} {
		if dir == top || strings.HasPrefix(dir, top+"/") {
			return "", Usagef("--sandbox: the working directory %s is under %s, which the sandbox replaces or protects: cd to a directory elsewhere (e.g. under your home) first", dir, top)
		}
	}
	return dir, nil
}
