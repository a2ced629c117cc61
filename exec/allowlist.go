package exec

// Tool is one program npte may run, with the Debian package that ships it.
// The same table drives live resolution and `npte doctor`.
type Tool struct {
	// Name is the program's base name, as written in argv[0].
	Name string
	// Package is the Debian package that installs it.
	Package string
	// Required is false for tools only some verbs need.
	Required bool
	// Purpose says what stops working without it.
	Purpose string
}

// Tools returns the allowlist: every program live npte may execute, in a
// fixed order. Nothing outside it is ever run; sudo is deliberately absent.
func Tools() []Tool {
	return []Tool{
		{"ip", "iproute2", true, "every namespace, link, address and route operation"},
		{"tc", "iproute2", true, "netem, tbf and ingress shaping"},
		{"ss", "iproute2", false, "the sockets section of netns show"},
		{"sysctl", "procps", true, "per-namespace TCP buffers and forwarding; gateway forwarding"},
		{"modprobe", "kmod", false, "loading tcp_bbr (tolerated when missing)"},
		{"install", "coreutils", true, "writing /etc/netns/NAME/resolv.conf"},
		{"rm", "coreutils", true, "removing /etc/netns/NAME"},
		{"awk", "mawk", false, "writing the resolv.conf files of a batched lab in one process; choosing whose links a batched teardown deletes when processes keep namespaces alive"},
		{"env", "coreutils", true, "netns run's clean environment"},
		{"runuser", "util-linux", true, "netns run's drop to $SUDO_USER"},
		{"id", "coreutils", true, "netns run's check of the user's uid and groups inside the namespace"},
		{"flock", "util-linux", true, "the lock in rendered scripts"},
		{"nft", "nftables", false, "gateway NAT rules (default firewall backend)"},
		{"iptables", "iptables", false, "gateway NAT rules with --firewall iptables"},
		{"ip6tables", "iptables", false, "IPv6 gateway rules with --firewall iptables"},
		{"bwrap", "bubblewrap", false, "netns run --sandbox"},
		{"debootstrap", "debootstrap", false, "container create (a Debian tree)"},
		{"systemd-nspawn", "systemd-container", false, "container run and container boot"},
		{"nsenter", "util-linux", true, "the lanes of a lab of 8 or more namespaces: each namespace's own batch and sysctls run inside it"},
		{"unshare", "util-linux", false, "doctor's kernel feature probes and the qdisc guard of netem apply and lab netem, run in a throwaway network namespace"},
	}
}

// Lookup returns the allowlist entry for name.
func Lookup(name string) (Tool, bool) {
	for _, t := range Tools() {
		if t.Name == name {
			return t, true
		}
	}
	return Tool{}, false
}
