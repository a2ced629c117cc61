package cli

import (
	"github.com/npte/npte/container"
	"github.com/npte/npte/netns"
	"github.com/npte/npte/validate"
)

// ContainerCmd groups the container verbs. They run a whole tree as root
// and write where root can, so they are not part of the NOPASSWD set that
// `npte sudoers` prints: they keep sudo's password prompt.
type ContainerCmd struct {
	Create ContainerCreateCmd `cmd:"" help:"Make a Debian tree with debootstrap."`
	Run    ContainerRunCmd    `cmd:"" help:"Run a command (or a shell) in a tree with systemd-nspawn, inside a lab namespace."`
	Boot   ContainerBootCmd   `cmd:"" help:"Boot a tree's systemd with systemd-nspawn, inside a lab namespace."`
}

// ContainerCreateCmd is `npte container create [--variant V] [--include PKG]... SUITE ROOTFS`.
type ContainerCreateCmd struct {
	DryRun
	Variant string   `name:"variant" default:"minbase" enum:"minbase,buildd,standard" help:"debootstrap's package set: minbase (essential packages and apt), buildd, or standard (debootstrap's default)."`
	Include []string `name:"include" sep:"none" placeholder:"PKG" help:"Also install package PKG (repeatable; PKG,PKG accepted), e.g. --include iproute2."`
	Suite   string   `arg:"" name:"suite" help:"The Debian release codename, e.g. bookworm or trixie."`
	Rootfs  string   `arg:"" name:"rootfs" help:"Absolute path of the new tree, e.g. /var/lib/machines/lab."`
}

// Help is the long help of container create.
func (c *ContainerCreateCmd) Help() string {
	return `Makes a Debian tree in ROOTFS with debootstrap, from debootstrap's default mirror (the
host's network, not a lab's: run it before the lab, or anywhere with internet access):

  debootstrap [--variant=minbase] [--include=PKG,...] SUITE ROOTFS

ROOTFS must be a clean absolute path of ASCII letters, digits and "/._+@-", not / and
not under /proc, /sys, /dev or /run, new or an empty directory; it and every directory above it that exists must be owned by
root and not writable by group or others (unless sticky, as /var/tmp): whoever could
write there could swap the tree that later runs as root. /var/lib/machines/NAME is the
usual place. Add --include iproute2 to use ip inside, --include systemd,dbus to boot it.

Not part of the NOPASSWD grant: it keeps sudo's password prompt. Nothing is recorded:
the tree is yours, 'rm -rf --one-file-system ROOTFS' removes it.
Refuses (exit 2, nothing changed): an invalid suite (a codename: lowercase letters and
digits), rootfs or package name (Debian policy: lowercase letters, digits, + - .); a
ROOTFS that exists and is not an empty directory; an unsafe path as above.`
}

// Run implements the verb.
func (c *ContainerCreateCmd) Run(app *App) error {
	cr, err := container.NewCreate(c.Suite, c.Rootfs, c.Variant, c.Include)
	if err != nil {
		return Usage(err)
	}
	p := container.CreatePlan(cr)
	p.Argv = app.Env.Args
	return app.Apply(p, c.DryRun.DryRun)
}

// spawnFlags are the flags container run and boot share.
type spawnFlags struct {
	Netns      validate.Netns `name:"netns" predictor:"netns" placeholder:"NS" help:"Join npte namespace NS (default: a private network with only loopback)."`
	Bind       []string       `name:"bind" sep:"none" placeholder:"SRC[:DST]" help:"Bind-mount host directory or file SRC at DST (default SRC) in the container (repeatable)."`
	Capability []string       `name:"capability" sep:"none" placeholder:"CAP" help:"Give the container one more capability, e.g. CAP_NET_ADMIN (repeatable)."`
}

const spawnHelp = `With --netns NS, the container joins NS (it must be a namespace npte made: checked
under npte's lock, which is released before the container starts); without it, a private
network with only loopback (--private-network). npte always passes --register=no and
--keep-unit: nothing is registered with systemd-machined, the container stays in the
caller's unit and vanishes with it, and no system bus is needed. (nspawn then makes
"supervisor" and "payload" cgroups under the caller's; on a host where the caller is no
systemd unit they stay, empty, until removed with rmdir.)

--bind SRC[:DST] takes absolute clean paths other than / made of ASCII letters, digits
and "/._+@-" (no nspawn bind options or prefixes); --capability one capability name such
as CAP_NET_ADMIN (no "all", no lists). Exit the container's console with Ctrl-] three
times.

Not part of the NOPASSWD grant: it keeps sudo's password prompt.
Refuses (exit 2, nothing run): an invalid rootfs, namespace name, bind or capability; a
namespace npte did not make; a ROOTFS that is missing, not a directory, or unsafe (it,
or a directory above it, a symbolic link, not owned by root, or writable by group or
others without the sticky bit).`

// ContainerRunCmd is `npte container run [--netns NS] [--bind SRC[:DST]]... [--capability CAP]... ROOTFS [-- CMD [ARG...]]`.
type ContainerRunCmd struct {
	DryRun
	spawnFlags
	Rootfs  string   `arg:"" name:"rootfs" help:"The tree (made by npte container create)."`
	Command []string `arg:"" optional:"" passthrough:"partial" placeholder:"-- CMD [ARG...]" help:"The command and its arguments (default: a shell); npte reads no option after CMD."`
}

// Help is the long help of container run.
func (c *ContainerRunCmd) Help() string {
	return `Runs CMD (default: a shell) as root inside tree ROOTFS with systemd-nspawn; npte becomes
(execve)

  systemd-nspawn --quiet --register=no --keep-unit --directory=ROOTFS
      --network-namespace-path=/run/netns/NS | --private-network
      [--capability=CAP]... [--bind=SRC[:DST]]... [--setenv=TERM=$TERM] [-- CMD [ARG...]]

so the command's exit status, terminal and signals pass through. Put '--' before CMD.

` + spawnHelp
}

// Run implements the verb.
func (c *ContainerRunCmd) Run(app *App) error {
	cmd, err := rawCommand(app.Env.Args, c.Command)
	if err != nil {
		return err
	}
	if len(cmd) > 0 && cmd[0] == "--" {
		cmd = cmd[1:]
	}
	if len(cmd) > 0 {
		if err := netns.CheckCommand(cmd); err != nil {
			return Usage(err)
		}
	}
	s, err := container.NewSpawn(c.Rootfs, string(c.Netns), c.Bind, c.Capability, app.Env.Getenv("TERM"), false, cmd)
	if err != nil {
		return Usage(err)
	}
	p := container.SpawnPlan(s)
	p.Argv = app.Env.Args
	return app.Apply(p, c.DryRun.DryRun)
}

// ContainerBootCmd is `npte container boot [--netns NS] [--bind SRC[:DST]]... [--capability CAP]... ROOTFS`.
type ContainerBootCmd struct {
	DryRun
	spawnFlags
	Rootfs string `arg:"" name:"rootfs" help:"The tree (made by npte container create --include systemd,dbus)."`
}

// Help is the long help of container boot.
func (c *ContainerBootCmd) Help() string {
	return `Boots tree ROOTFS: its systemd runs as PID 1 of the container, with a console on the
terminal (log in as root: set a password first with 'npte container run ROOTFS -- passwd',
or 'poweroff' from inside). npte becomes (execve)

  systemd-nspawn --quiet --register=no --keep-unit --boot --directory=ROOTFS
      --network-namespace-path=/run/netns/NS | --private-network
      [--capability=CAP]... [--bind=SRC[:DST]]... [--setenv=TERM=$TERM]

The tree needs systemd: make it with --include systemd,dbus.

` + spawnHelp
}

// Run implements the verb.
func (c *ContainerBootCmd) Run(app *App) error {
	s, err := container.NewSpawn(c.Rootfs, string(c.Netns), c.Bind, c.Capability, app.Env.Getenv("TERM"), true, nil)
	if err != nil {
		return Usage(err)
	}
	p := container.SpawnPlan(s)
	p.Argv = app.Env.Args
	return app.Apply(p, c.DryRun.DryRun)
}
