package cli

import (
	"fmt"
	"net/netip"
	"strings"
	"unicode/utf8"

	"github.com/npte/npte/netns"
	"github.com/npte/npte/validate"
)

// NetnsConnectCmd is `npte netns connect LEFT RIGHT`.
type NetnsConnectCmd struct {
	DryRun
	Left  validate.Netns `arg:"" predictor:"netns" help:"A namespace made by npte; its end of the link is named if-RIGHT."`
	Right validate.Netns `arg:"" predictor:"netns" help:"Another namespace made by npte; its end is named if-LEFT."`
}

// Help is the long help of netns connect.
func (c *NetnsConnectCmd) Help() string {
	return `Links LEFT and RIGHT with a veth pair: the end inside LEFT is named if-RIGHT, the end
inside RIGHT is named if-LEFT, so 'ip link' inside a namespace says where each link leads.
Under npte's lock it checks that both namespaces carry npte's marker and that neither end
exists yet, then creates the pair in one atomic command (no end ever appears on the host
side, even if it fails), both ends in npte's link group ` + netns.LinkGroup + ` (which 'npte netns
destroy' deletes), and brings both ends up:

` + helpLines(netns.ConnectSteps("LEFT", "RIGHT"), nil) + `
It assigns no address: use 'npte netns assign-addr'.

Refuses (exit 2, nothing changed): an invalid name, LEFT equal to RIGHT, a namespace
npte did not make, two namespaces that are already connected.`
}

// Run implements the verb.
func (c *NetnsConnectCmd) Run(app *App) error {
	if c.Left == c.Right {
		return Usagef("cannot connect %s to itself: LEFT and RIGHT must be two different namespaces", c.Left)
	}
	return app.Apply(netns.Connect(string(c.Left), string(c.Right)), c.DryRun.DryRun)
}

// NetnsAssignAddrCmd is `npte netns assign-addr NS IFACE CIDR`.
type NetnsAssignAddrCmd struct {
	DryRun
	Name  validate.Netns     `arg:"" predictor:"netns" name:"ns" help:"A namespace made by npte."`
	Iface validate.Iface     `arg:"" name:"iface" help:"An interface inside NS, such as if-router (see 'npte netns connect')."`
	CIDR  validate.IfaceAddr `arg:"" name:"cidr" help:"Address and prefix length, IPv4 (10.0.0.1/24) or IPv6 (fd00::1/64)."`
}

// Help is the long help of netns assign-addr.
func (c *NetnsAssignAddrCmd) Help() string {
	return `Adds the address CIDR to interface IFACE inside namespace NS. Under npte's lock it
checks NS's marker and that IFACE exists in NS, then runs, for IPv4 and for IPv6 (nodad:
usable at once, no duplicate address detection wait):

` + helpLines(netns.AssignAddrSteps("NS", "IFACE", netip.MustParsePrefix("192.0.2.1/24")), nil, "192.0.2.1/24", "CIDR") +
		helpLines(netns.AssignAddrSteps("NS", "IFACE", netip.MustParsePrefix("2001:db8::1/64")), nil, "2001:db8::1/64", "CIDR") + `
For IPv6 it first checks that the kernel has it (` + helpProbe(netns.RequireIPv6()) + `).
The kernel adds the connected route. Assigning the same address twice is not an error.
Run it once per family for a dual-stack link.

Refuses (exit 2, nothing changed): an invalid name, an invalid interface name (more than
15 bytes, "/", ":", "#", spaces, a leading "-"), a CIDR that is not ADDRESS/LENGTH or
carries an IPv6 zone (%eth0), a namespace npte did not make, an interface NS lacks.`
}

// Run implements the verb.
func (c *NetnsAssignAddrCmd) Run(app *App) error {
	return app.Apply(netns.AssignAddr(string(c.Name), string(c.Iface), c.CIDR.Prefix), c.DryRun.DryRun)
}

// NetnsAddRouteCmd is `npte netns add-route NS DEST VIA [--dev IFACE]`.
type NetnsAddRouteCmd struct {
	DryRun
	Dev  validate.Iface     `name:"dev" placeholder:"IFACE" help:"Send through this interface of NS (needed when VIA is link-local)."`
	Name validate.Netns     `arg:"" predictor:"netns" name:"ns" help:"A namespace made by npte."`
	Dest validate.RouteDest `arg:"" name:"dest" help:"'default', or a network such as 10.0.2.0/24 or fd00:2::/64 (no host bits)."`
	Via  validate.Addr      `arg:"" name:"via" help:"The next hop: an address of DEST's family, such as 10.0.3.1 or fd00:3::1."`
}

// Help is the long help of netns add-route.
func (c *NetnsAddRouteCmd) Help() string {
	return `Adds a route to DEST via the next hop VIA inside namespace NS. Under npte's lock it
checks NS's marker (and that --dev IFACE exists in NS), then runs, for IPv4 and for IPv6
('default' is then ::/0):

` + helpLines(netns.AddRouteSteps("NS", "DEST", netip.MustParseAddr("192.0.2.1"), "IFACE"), nil, "192.0.2.1", "VIA", "dev", "[dev", "IFACE", "IFACE]") +
		helpLines(netns.AddRouteSteps("NS", "DEST", netip.MustParseAddr("2001:db8::1"), "IFACE"), nil, "2001:db8::1", "VIA", "dev", "[dev", "IFACE", "IFACE]") + `
For IPv6 it first checks that the kernel has it (` + helpProbe(netns.RequireIPv6()) + `).
Adding the same route twice is not an error; a second run replaces the next hop.

Refuses (exit 2, nothing changed): an invalid name, a DEST that is neither 'default' nor
a network without host bits (10.0.2.1/24 is refused: did you mean 10.0.2.0/24?), a VIA
that is not a plain address (no prefix length, no IPv6 zone), DEST and VIA of different
families, a multicast or unspecified VIA, a link-local VIA without --dev, a namespace npte
did not make.`
}

// Run implements the verb.
func (c *NetnsAddRouteCmd) Run(app *App) error {
	p, err := netns.AddRoute(string(c.Name), c.Dest.String(), c.Via.Addr, string(c.Dev))
	if err != nil {
		return Usage(err)
	}
	return app.Apply(p, c.DryRun.DryRun)
}

// NetnsRunCmd is `npte netns run [--user NAME] [-e KEY=VALUE]... [--sandbox] NS -- CMD [ARG...]`.
type NetnsRunCmd struct {
	DryRun
	User    string                `name:"user" placeholder:"NAME" help:"Run as NAME: for root logged in directly (a VM, a container); under sudo it may only repeat $SUDO_USER."`
	Setenv  []validate.Assignment `short:"e" name:"env" sep:"none" placeholder:"KEY=VALUE" help:"Set a variable in the command's environment (repeatable; the value may contain '=' and ',')."`
	Sandbox bool                  `help:"Run the command in bubblewrap: / read-only, private /tmp, the working directory writable."`
	Name    validate.Netns        `arg:"" predictor:"netns" name:"ns" help:"A namespace made by npte."`
	Command []string              `arg:"" passthrough:"partial" placeholder:"-- CMD [ARG...]" help:"The command and its arguments; npte reads no option after CMD."`
}

// Help is the long help of netns run.
func (c *NetnsRunCmd) Help() string {
	return `Runs CMD inside namespace NS as the user who invoked sudo ($SUDO_USER), never as root.
Under npte's lock it checks NS's marker; that /etc/netns/NS holds nothing but npte's
resolv.conf (root-owned, not writable by group or others: 'ip netns exec' mounts every
file there over /etc); and that inside NS, after that overlay, the user is the uid the
host knows and has no group 0 ('ip netns exec NS id -u -- USER', 'id -G'). It releases
the lock, then becomes (execve)

` + wrapWords(strings.Fields(strings.NewReplacer("TERM=$TERM", "[TERM=$TERM]").Replace(strings.Join(netns.RunArgv(netns.Run{
		Netns: "NS", User: "$SUDO_USER", Home: "~", Term: "$TERM", Env: []string{"[KEY=VALUE...]"}, Command: []string{"CMD", "[ARG...]"},
	}), " ")))) + `
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

` + wrapWords(netns.BwrapArgv("CWD")) + `
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
	cmd, err := rawCommand(app.Env.Args, c.Command)
	if err != nil {
		return err
	}
	if len(cmd) > 0 && cmd[0] == "--" {
		cmd = cmd[1:] // kong keeps the "--" that introduces a passthrough argument
	}
	env := make([]string, len(c.Setenv))
	for i, e := range c.Setenv {
		env[i] = string(e)
	}
	r, err := netns.NewRun(netns.RunRequest{
		Netns: string(c.Name), User: c.User, Env: env, Sandbox: c.Sandbox, Command: cmd,
		SudoUser: app.Env.Getenv("SUDO_USER"), Term: app.Env.Getenv("TERM"),
		LookupUser: app.Env.LookupUser, UserGroups: app.Env.UserGroups, Getwd: app.Env.Getwd,
	})
	if err != nil {
		return Usage(err)
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
