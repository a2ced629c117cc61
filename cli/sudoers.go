package cli

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/npte/npte/validate"
)

// DefaultInstallPath is where `make install` puts npte, and the path the
// sudoers rules name unless --path says otherwise (the flag's default,
// through the kong variable ${install_path} that Main sets).
const DefaultInstallPath = "/usr/local/sbin/npte"

// nopasswdVerbs are the verb groups `npte sudoers` grants: the ones that
// touch only namespaces carrying npte's marker.
var nopasswdVerbs = []string{"netns", "netem", "lab"}

// SudoersCmd is `npte sudoers`.
type SudoersCmd struct {
	User validate.User    `name:"user" placeholder:"NAME" help:"Who gets the grant (default: $USER; required when run as root)."`
	Path validate.Program `name:"path" default:"${install_path}" placeholder:"PATH" help:"Absolute path of the installed, root-owned npte binary."`
	Form string           `name:"form" default:"both" enum:"both,classic,sudo-rs" help:"Which rules to print: both (classic active, sudo-rs commented out), classic, or sudo-rs."`
}

// Help is the long help of sudoers.
func (c *SudoersCmd) Help() string {
	return `Prints a sudoers file that lets one user run the namespace verbs (netns, netem, lab) as
root without a password. It writes nothing and runs nothing: review it, check it with
'visudo -c -f FILE' and install it into /etc/sudoers.d yourself.

Two forms: classic sudo matches arguments, so its rule names the three verb groups
('npte netns *' ...); sudo-rs refuses any wildcard in arguments (and then refuses every
sudo command while such a file is installed), so its rule grants the binary itself,
which includes 'npte gateway'. The comments in the output say what each form allows.

Run it as the user who gets the grant, or pass --user. Refuses (exit 2): root without
--user, an invalid user name, root (or another name for uid 0 on this machine) as the
user, a --path that is not absolute and clean or holds characters that sudoers would
read specially.`
}

// Run implements the verb.
func (c *SudoersCmd) Run(app *App) error {
	user := c.User
	if user == "" {
		if app.Env.Euid == 0 {
			return Usagef("refusing to guess the user as root: run npte sudoers as the user who gets the grant, or pass --user NAME")
		}
		env := app.Env.Getenv("USER")
		if env == "" {
			return Usagef("$USER is not set: pass --user NAME")
		}
		if err := user.UnmarshalText([]byte(env)); err != nil {
			return Usage(err)
		}
	}
	if err := grantee(app.Env, string(user)); err != nil {
		return err
	}
	return writeSudoers(app.Env.Stdout, string(user), string(c.Path), c.Form, app.Env.Version)
}

// grantee refuses root as the user who gets the grant: root needs no
// sudoers rule, and a rule for root would only make 'netns run' (which
// never runs a command as root) look usable by it. Another name for uid 0
// known to this machine is refused too; a user unknown here may be meant
// for another machine and is printed.
func grantee(env Env, name string) error {
	if name == "root" {
		return Usagef("--user root: root needs no sudoers rule, and npte never grants one to uid 0; name the unprivileged user who gets the grant")
	}
	if env.LookupUser == nil {
		return nil
	}
	if u, err := env.LookupUser(name); err == nil {
		if uid, err := strconv.ParseUint(u.Uid, 10, 32); err == nil && uid == 0 {
			return Usagef("user %s has uid 0: root needs no sudoers rule, and npte never grants one to uid 0; name the unprivileged user who gets the grant", name)
		}
	}
	return nil
}

// writeSudoers prints the sudoers file for user and the binary at path.
func writeSudoers(w io.Writer, user, path, form, version string) error {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("# sudoers rules for npte, for user %s (printed by npte %s sudoers).", user, version)
	p("#")
	p("# Install as root, checking the syntax first:")
	p("#   visudo -c -f FILE && install -m 0440 -o root -g root FILE /etc/sudoers.d/npte")
	p("#")
	p("# Both forms rely on two things:")
	p("# - sudo's defaults env_reset and secure_path: npte must not see %s's", user)
	p("#   environment (GODEBUG, MCPGODEBUG, LD_PRELOAD...), and secure_path must contain %s,", parentDir(path))
	p("#   so that 'sudo npte' resolves to exactly the path named below;")
	p("# - %s, and every directory above it, being owned by root and", path)
	p("#   writable by root only ('make install' installs it 0555 root:root):")
	p("#   whoever can replace that file gets root through this grant.")
	p("#")
	p("# 'npte mcp serve' (a coding agent's MCP server) needs no rule of its own:")
	p("# it runs as %s and calls 'sudo -n %s VERB ...' for these verbs,", user, path)
	p("# so it works only when started as %s itself.", path)
	if form == "both" || form == "classic" {
		p("")
		p("# Classic sudo. %s may run, as root and without a password:", user)
		for _, v := range nopasswdVerbs {
			p("#   %s %s ...", path, v)
		}
		p("# These verbs touch only network namespaces that carry npte's marker (made")
		p("# by npte), never the host's interfaces, firewall or other tools' namespaces;")
		p("# every value they hand to a program is validated first; 'netns run' runs")
		p("# the command as %s (from $SUDO_USER), never as root.", user)
		p("# Not granted: 'npte gateway' (host veth, NAT and firewall rules, host")
		p("# forwarding), 'npte container' (debootstrap writes where root can,")
		p("# systemd-nspawn runs a whole tree as root) and any other command: those")
		p("# still ask for a password.")
		p("# sudo-rs rejects this rule (wildcard in arguments) and then every sudo")
		p("# command: on sudo-rs use 'npte sudoers --form sudo-rs' instead.")
		var specs []string
		for _, v := range nopasswdVerbs {
			specs = append(specs, path+" "+v+" *")
		}
		p("%s ALL=(root) NOPASSWD: %s", user, strings.Join(specs, ", "))
	}
	if form == "both" || form == "sudo-rs" {
		prefix := ""
		if form == "both" {
			prefix = "#"
		}
		p("")
		p("# sudo-rs refuses wildcards in arguments, so this form grants the binary")
		p("# itself: %s may run EVERY npte verb as root without a password,", user)
		p("# including 'npte gateway' (a veth, NAT and forward rules on the host, and")
		p("# forwarding turned on host-wide) and 'npte container', which runs a tree")
		p("# as root with host directories bound in (--bind): with container, this")
		p("# grant amounts to root. Without it npte would run only its allowlisted")
		p("# programs with validated arguments, the namespace")
		p("# verbs keep to npte's own namespaces, and 'netns run' drops to %s.", user)
		p("# If gateway and container must keep their password prompt, use classic sudo.")
		if prefix != "" {
			p("# To use it: remove the classic rule above and uncomment this line.")
		}
		p("%s%s ALL=(root) NOPASSWD: %s", prefix, user, path)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func parentDir(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i <= 0 {
		return "/"
	}
	return p[:i]
}
