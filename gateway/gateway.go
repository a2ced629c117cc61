// Package gateway builds the plans of `npte gateway create` and `npte
// gateway destroy`: an uplink from a network namespace through the host,
// with NAT out of one external interface.
//
// The builders are pure: they take validated values (Config.Check) and
// return a plan.Plan. Everything a gateway leaves on the host carries the
// namespace's name, so that destroy can find it again from the name alone,
// and is recorded, before create changes anything, in
// /run/npte/gateway/NS.BACKEND (shell.Layout.GatewayRecord); destroy
// (and netns destroy, lab destroy) remove only what is recorded:
//
//   - the veth pair: if-NS on the host, if-host inside NS, both in npte's
//     link group (netns.LinkGroup); destroy deletes if-NS only while it is
//     in that group, so a host interface of that name npte did not make
//     stays;
//   - with the nft backend (default), one nftables table "inet npte-gw-NS" on
//     the host and one of the same name inside NS. destroy deletes exactly
//     these tables and never rewrites a rule of anybody else;
//   - with the iptables backend, one user chain NPTE-GW-NS in the nat and the
//     filter tables (and the ip6tables twins with an IPv6 subnet), reached
//     from POSTROUTING and FORWARD by one jump rule each, every rule tagged
//     with the comment npte:gw:NS. destroy removes the jumps one by one with
//     -D, then flushes and deletes its own chains.
//
// Host forwarding sysctls are turned on by create and left as they are by
// destroy (other software may rely on them).
package gateway

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/npte/npte/netns"
	"github.com/npte/npte/plan"
	"github.com/npte/npte/validate"
)

// Firewall is the backend that holds a gateway's NAT and forward rules.
type Firewall string

// The firewall backends.
const (
	// NFT keeps the rules in npte's own nftables table (nft -f -).
	NFT Firewall = plan.GatewayNFT
	// IPTables keeps them in npte's own iptables chains, for hosts without
	// nft or whose FORWARD chain drops by default (see Config).
	IPTables Firewall = plan.GatewayIPTables
)

// NSLink is the name of the gateway's interface inside the namespace.
const NSLink = "if-host"

// HostLink is the name of the gateway's interface on the host, if-NS.
func HostLink(ns string) string { return netns.LinkName(ns) }

// Table is the name of the nftables table of the gateway of ns, on the host
// and inside ns: npte-gw-NS (in family inet).
func Table(ns string) string { return netns.GatewayTable(ns) }

// Chain is the name of the iptables chains of the gateway of ns:
// NPTE-GW-NS (at most 20 bytes; iptables allows 28).
func Chain(ns string) string { return netns.GatewayChain(ns) }

// Tag is the comment every firewall rule of the gateway of ns carries:
// npte:gw:NS.
func Tag(ns string) string { return netns.GatewayTag(ns) }

// Config is what `gateway create` is asked for.
type Config struct {
	// NS is the namespace that gets the uplink (validate.NetnsName, not
	// "host"). It must exist; it need not be managed by npte.
	NS string
	// Subnet is the IPv4 subnet of the link between host and NS: the host
	// side takes the first address (.1), NS the second (.2).
	Subnet netip.Prefix
	// Subnet6 is an optional IPv6 subnet for the same link (zero: none).
	Subnet6 netip.Prefix
	// Ext is the host interface traffic leaves by, masqueraded.
	Ext string
	// Firewall is the backend (NFT when empty).
	Firewall Firewall
}

func bad(kind, value, rule string) error {
	return &validate.Error{Kind: kind, Value: value, Rule: rule}
}

// CheckName checks a gateway's namespace name: validate.NetnsName, and not
// "host", whose link names would collide (if-host on both sides).
func CheckName(ns string) error {
	if err := validate.NetnsName(ns); err != nil {
		return err
	}
	if ns == "host" {
		return bad("namespace name", ns, `"host" cannot have a gateway: its host-side interface would be if-host, the name of the namespace side`)
	}
	return nil
}

// CheckFirewall checks a backend name.
func CheckFirewall(fw Firewall) error {
	switch fw {
	case NFT, IPTables:
		return nil
	}
	return bad("firewall backend", string(fw), `must be "nft" or "iptables"`)
}

// Check validates c entirely; the builders assume it passed.
func (c Config) Check() error {
	if err := CheckName(c.NS); err != nil {
		return err
	}
	if err := validate.IfaceName(c.Ext); err != nil {
		return err
	}
	if c.Ext == HostLink(c.NS) || c.Ext == NSLink {
		return bad("external interface", c.Ext, "must be the host's uplink, not the gateway's own veth")
	}
	if err := CheckFirewall(c.Firewall); err != nil {
		return err
	}
	if err := CheckSubnet(c.Subnet); err != nil {
		return err
	}
	if c.Subnet6.IsValid() {
		return CheckSubnet6(c.Subnet6)
	}
	return nil
}

// The bounds of a gateway subnet. The host routes the whole subnet into the
// namespace, so it must be private, and no wider than a lab needs: a /16
// (65534 addresses) for IPv4; a /48, the usual site allocation, for IPv6
// (a /64 is the usual link). A subnet needs the host's (.1) and the
// namespace's (.2) addresses: /30 and /126 at the narrowest.
const (
	WidestSubnet     = 16
	NarrowestSubnet  = 30
	WidestSubnet6    = 48
	NarrowestSubnet6 = 126
)

// PrivateRanges are the IPv4 ranges a gateway subnet must lie in: RFC 1918
// and the shared address space of RFC 6598.
func PrivateRanges() []netip.Prefix {
	return []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("172.16.0.0/12"),
		netip.MustParsePrefix("192.168.0.0/16"),
		netip.MustParsePrefix("100.64.0.0/10"),
	}
}

// PrivateRange6 is the range an IPv6 gateway subnet must lie in: unique
// local addresses (RFC 4193).
func PrivateRange6() netip.Prefix { return netip.MustParsePrefix("fc00::/7") }

// within reports whether p lies entirely inside r.
func within(p, r netip.Prefix) bool { return p.Bits() >= r.Bits() && r.Contains(p.Addr()) }

// CheckSubnet checks an IPv4 gateway subnet: no host bits, private
// (PrivateRanges), /16 to /30.
func CheckSubnet(s netip.Prefix) error {
	switch {
	case !s.IsValid() || !s.Addr().Is4():
		return bad("gateway subnet", s.String(), "must be an IPv4 subnet like 10.200.0.0/24 (use --subnet6 for IPv6)")
	case s.Masked() != s:
		return bad("gateway subnet", s.String(), fmt.Sprintf("must have no host bits set (did you mean %s?)", s.Masked()))
	case s.Bits() > NarrowestSubnet:
		return bad("gateway subnet", s.String(), "must be /30 or wider: it needs a host address (.1) and a namespace address (.2)")
	case s.Bits() < WidestSubnet:
		return bad("gateway subnet", s.String(), "must be /16 or narrower: the host routes all of it into the namespace")
	}
	for _, r := range PrivateRanges() {
		if within(s, r) {
			return nil
		}
	}
	return bad("gateway subnet", s.String(), "must be private: inside 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 (RFC 1918) or 100.64.0.0/10 (RFC 6598)")
}

// CheckSubnet6 checks an IPv6 gateway subnet: no host bits, unique local
// (fc00::/7), /48 to /126.
func CheckSubnet6(s6 netip.Prefix) error {
	switch {
	case !s6.IsValid() || !s6.Addr().Is6() || s6.Addr().Is4In6():
		return bad("gateway IPv6 subnet", s6.String(), "must be an IPv6 subnet like fd00:200::/64")
	case s6.Masked() != s6:
		return bad("gateway IPv6 subnet", s6.String(), fmt.Sprintf("must have no host bits set (did you mean %s?)", s6.Masked()))
	case s6.Bits() > NarrowestSubnet6:
		return bad("gateway IPv6 subnet", s6.String(), "must be /126 or wider: it needs a host address (::1) and a namespace address (::2)")
	case s6.Bits() < WidestSubnet6:
		return bad("gateway IPv6 subnet", s6.String(), "must be /48 or narrower: the host routes all of it into the namespace")
	case !within(s6, PrivateRange6()):
		return bad("gateway IPv6 subnet", s6.String(), "must be a unique local subnet, inside fc00::/7 (RFC 4193), e.g. fd00:200::/64")
	}
	return nil
}

// firstTwo returns the first and second host addresses of p.
func firstTwo(p netip.Prefix) (netip.Addr, netip.Addr) {
	a := p.Addr().Next()
	return a, a.Next()
}

func withLen(a netip.Addr, p netip.Prefix) string {
	return netip.PrefixFrom(a, p.Bits()).String()
}

func (c Config) argv() []string {
	argv := []string{"gateway", "create"}
	if c.Firewall != NFT && c.Firewall != "" {
		argv = append(argv, "--firewall", string(c.Firewall))
	}
	if c.Subnet6.IsValid() {
		argv = append(argv, "--subnet6", c.Subnet6.String())
	}
	return append(argv, c.NS, c.Subnet.String(), c.Ext)
}

// Create is `npte gateway create NS SUBNET EXT_IFACE`. c must have passed
// Check. In order, under npte's lock:
//
//	if ! ip -n NS link show dev lo ...; then ... exit 2; fi          (NS exists)
//	if ip -n NS link show dev if-host ...; then ... exit 2; fi      (no gateway yet)
//	if ! ip link show dev EXT ...; then ... exit 2; fi
//	if ip link show dev if-NS ...; then ... exit 2; fi
//	(no gateway record of NS; no leftover table npte-gw-NS or chain NPTE-GW-NS, host or NS)
//	(the host has no route or address overlapping SUBNET but default routes:
//	 ip -o -4 route show table all root SUBNET, ... match SUBNET, ip -o -4 addr show to SUBNET)
//	install -d -m 0755 /run/npte/gateway; (set -C; : >/run/npte/gateway/NS.FIREWALL)
//	nft -f - <<'NPTE_EOF' ... NPTE_EOF        (create table inet npte-gw-NS: NAT + forward)
//	ip link add name if-NS group 28272 type veth peer name if-host netns NS group 28272
//	ip addr add HOST/LEN dev if-NS; ip link set dev if-NS up
//	ip -n NS addr add NSADDR/LEN dev if-host; ip -n NS link set dev if-host up
//	ip -n NS route add default via HOST dev if-host
//	ip netns exec NS nft -f - <<'NPTE_EOF' ... NPTE_EOF   (masquerade out of if-host)
//	sysctl -q -w net.ipv4.ip_forward=1
//
// (IPv6 lines with Subnet6; iptables commands instead of nft with IPTables.)
// The record is written before the first host change, so that `gateway
// destroy` can clean up after a create that failed or was killed; the
// firewall goes in before the link exists and forwarding is turned on
// last, so no packet is ever forwarded without the rules.
func Create(c Config) plan.Plan {
	if c.Firewall == "" {
		c.Firewall = NFT
	}
	ns, host := c.NS, HostLink(c.NS)
	h4, n4 := firstTwo(c.Subnet)
	undo := "npte gateway destroy " + ns
	steps := []plan.Step{
		plan.Lock{},
		plan.Probe{Argv: []string{"ip", "-n", ns, "link", "show", "dev", "lo"}, WantSuccess: true,
			Message: ns + ": no such network namespace (create it first, e.g. npte netns create " + ns + ")"},
		plan.Probe{Argv: []string{"ip", "-n", ns, "link", "show", "dev", NSLink},
			Message: ns + " already has an interface " + NSLink + " (a gateway, or what is left of one? run: " + undo + ")"},
		plan.Probe{Argv: []string{"ip", "link", "show", "dev", c.Ext}, WantSuccess: true,
			Message: "the host has no interface " + c.Ext},
		plan.Probe{Argv: []string{"ip", "link", "show", "dev", host},
			Message: "the host already has an interface " + host + " (a gateway for " + ns + ", or what is left of one? run: " + undo + ")"},
		plan.RequireNoGatewayRecord{NS: ns},
	}
	if c.Subnet6.IsValid() {
		steps = append(steps, netns.RequireIPv6())
	}
	steps = append(steps, leftoverProbes(c)...)
	steps = append(steps, overlapChecks(c.Subnet)...)
	if c.Subnet6.IsValid() {
		steps = append(steps, overlapChecks(c.Subnet6)...)
	}
	steps = append(steps, plan.WriteGatewayRecord{NS: ns, Firewall: string(c.Firewall)})
	steps = append(steps, hostFirewall(c)...)
	steps = append(steps,
		plan.Command{Argv: []string{"ip", "link", "add", "name", host, "group", netns.LinkGroup, "type", "veth", "peer", "name", NSLink, "netns", ns, "group", netns.LinkGroup}},
		plan.Command{Argv: []string{"ip", "addr", "add", withLen(h4, c.Subnet), "dev", host}},
	)
	var h6, n6 netip.Addr
	if c.Subnet6.IsValid() {
		h6, n6 = firstTwo(c.Subnet6)
		steps = append(steps, plan.Command{Argv: []string{"ip", "addr", "add", withLen(h6, c.Subnet6), "dev", host, "nodad"}})
	}
	steps = append(steps,
		plan.Command{Argv: []string{"ip", "link", "set", "dev", host, "up"}},
		plan.Command{Argv: []string{"ip", "-n", ns, "addr", "add", withLen(n4, c.Subnet), "dev", NSLink}},
	)
	if c.Subnet6.IsValid() {
		steps = append(steps, plan.Command{Argv: []string{"ip", "-n", ns, "addr", "add", withLen(n6, c.Subnet6), "dev", NSLink, "nodad"}})
	}
	steps = append(steps,
		plan.Command{Argv: []string{"ip", "-n", ns, "link", "set", "dev", NSLink, "up"}},
		plan.Command{Argv: []string{"ip", "-n", ns, "route", "add", "default", "via", h4.String(), "dev", NSLink}},
	)
	if c.Subnet6.IsValid() {
		steps = append(steps, plan.Command{Argv: []string{"ip", "-n", ns, "-6", "route", "add", "default", "via", h6.String(), "dev", NSLink}})
	}
	steps = append(steps, nsFirewall(c)...)
	steps = append(steps,
		plan.Note{Text: "Host-wide: the kernel forwards between interfaces from now on; npte's rules limit what goes through " + host + "."},
		plan.Note{Text: "'npte gateway destroy' leaves this setting as it is."},
		plan.Command{Argv: []string{"sysctl", "-q", "-w", "net.ipv4.ip_forward=1"}},
	)
	if c.Subnet6.IsValid() {
		steps = append(steps,
			plan.Note{Text: "IPv6 forwarding makes the host ignore router advertisements where accept_ra=1: if the host"},
			plan.Note{Text: "gets its own IPv6 route by SLAAC, set net.ipv6.conf." + c.Ext + ".accept_ra=2 first."},
			plan.Command{Argv: []string{"sysctl", "-q", "-w", "net.ipv6.conf.all.forwarding=1"}},
		)
	}
	return plan.Plan{Argv: c.argv(), Steps: steps, Undo: []string{"gateway", "destroy", ns}}
}

// leftoverProbes refuse (exit 2) to create over the leftovers of a
// gateway that npte has no record of: the backend's own table or chains
// on the host or inside NS, which would otherwise make create fail half-way
// with a raw "File exists". Only the chosen backend's tool is asked (the
// other may not be installed).
func leftoverProbes(c Config) []plan.Step {
	ns := c.NS
	in := []string{"ip", "netns", "exec", ns}
	msg := func(what string) string {
		return what + " is left from an earlier gateway of " + ns + "; remove it first: npte gateway destroy " + ns
	}
	if c.Firewall == IPTables {
		tools := []string{"iptables"}
		if c.Subnet6.IsValid() {
			tools = append(tools, "ip6tables")
		}
		var steps []plan.Step
		for _, tool := range tools {
			for _, table := range []string{"nat", "filter"} {
				steps = append(steps, plan.Probe{Argv: []string{tool, "-t", table, "-S", Chain(ns)},
					Message: msg(tool + " chain " + Chain(ns) + " (table " + table + ") on the host")})
			}
			steps = append(steps, plan.Probe{Argv: slices.Concat(in, []string{tool, "-t", "nat", "-S", Chain(ns)}),
				Message: msg(tool + " chain " + Chain(ns) + " (table nat) inside " + ns)})
		}
		return steps
	}
	return []plan.Step{
		plan.Probe{Argv: []string{"nft", "list", "table", "inet", Table(ns)},
			Message: msg("nftables table inet " + Table(ns) + " on the host")},
		plan.Probe{Argv: slices.Concat(in, []string{"nft", "list", "table", "inet", Table(ns)}),
			Message: msg("nftables table inet " + Table(ns) + " inside " + ns)},
	}
}

// overlapChecks refuse (exit 2) a subnet that overlaps a route or an
// address the host already has, other than a default route: a route
// inside the subnet (root, which also lists the local routes of the
// host's own addresses), a route that covers it (match), an address in
// it (addr show to, for interfaces that are down).
func overlapChecks(p netip.Prefix) []plan.Step {
	fam := "-4"
	if p.Addr().Is6() {
		fam = "-6"
	}
	s := p.String()
	msg := s + " overlaps what the host already has; choose another subnet"
	return []plan.Step{
		plan.RequireNoRoute{Argv: []string{"ip", "-o", fam, "route", "show", "table", "all", "root", s}, Message: msg + " (a route inside it)"},
		plan.RequireNoRoute{Argv: []string{"ip", "-o", fam, "route", "show", "table", "all", "match", s}, Message: msg + " (a route that covers it)"},
		plan.RequireNoRoute{Argv: []string{"ip", "-o", fam, "addr", "show", "to", s}, Message: msg + " (an address in it)"},
	}
}

// hostRuleset is the nft payload that creates the host table: masquerade
// SUBNET out of EXT, forward SUBNET out through EXT and only the replies
// back in, and drop every other packet forwarded through if-NS.
func hostRuleset(c Config) string {
	ns, host, tag := c.NS, HostLink(c.NS), Tag(c.NS)
	var b strings.Builder
	fmt.Fprintf(&b, "# npte gateway for %s: NAT out of %s, forwarding limited to %s.\n", ns, c.Ext, host)
	fmt.Fprintf(&b, "# 'create' fails if the table exists, and the whole file applies atomically.\n")
	fmt.Fprintf(&b, "create table inet %s\n", Table(ns))
	fmt.Fprintf(&b, "table inet %s {\n", Table(ns))
	b.WriteString("\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n")
	fmt.Fprintf(&b, "\t\toifname %q ip saddr %s counter masquerade comment %q\n", c.Ext, c.Subnet, tag)
	if c.Subnet6.IsValid() {
		fmt.Fprintf(&b, "\t\toifname %q ip6 saddr %s counter masquerade comment %q\n", c.Ext, c.Subnet6, tag)
	}
	b.WriteString("\t}\n\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n")
	fmt.Fprintf(&b, "\t\tiifname %q oifname %q ip saddr %s counter accept comment %q\n", host, c.Ext, c.Subnet, tag)
	fmt.Fprintf(&b, "\t\tiifname %q oifname %q ip daddr %s ct state established,related counter accept comment %q\n", c.Ext, host, c.Subnet, tag)
	if c.Subnet6.IsValid() {
		fmt.Fprintf(&b, "\t\tiifname %q oifname %q ip6 saddr %s counter accept comment %q\n", host, c.Ext, c.Subnet6, tag)
		fmt.Fprintf(&b, "\t\tiifname %q oifname %q ip6 daddr %s ct state established,related counter accept comment %q\n", c.Ext, host, c.Subnet6, tag)
	}
	fmt.Fprintf(&b, "\t\tiifname %q counter drop comment %q\n", host, tag)
	fmt.Fprintf(&b, "\t\toifname %q counter drop comment %q\n", host, tag)
	b.WriteString("\t}\n}\n")
	return b.String()
}

// nsRuleset is the nft payload inside NS: masquerade what leaves by
// if-host, so that networks behind NS (a lab's client behind its router)
// reach the host as NS's own address, which the host knows how to answer.
func nsRuleset(c Config) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# npte gateway, inside %s: networks behind %s leave by %s as its own address.\n", c.NS, c.NS, NSLink)
	fmt.Fprintf(&b, "create table inet %s\n", Table(c.NS))
	fmt.Fprintf(&b, "table inet %s {\n", Table(c.NS))
	b.WriteString("\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n")
	fmt.Fprintf(&b, "\t\toifname %q counter masquerade comment %q\n", NSLink, Tag(c.NS))
	b.WriteString("\t}\n}\n")
	return b.String()
}

func hostFirewall(c Config) []plan.Step {
	if c.Firewall == IPTables {
		steps := iptablesHost("iptables", c.NS, c.Ext, c.Subnet.String())
		if c.Subnet6.IsValid() {
			steps = append(steps, iptablesHost("ip6tables", c.NS, c.Ext, c.Subnet6.String())...)
		}
		return steps
	}
	return []plan.Step{plan.Command{Argv: []string{"nft", "-f", "-"}, Stdin: hostRuleset(c),
		Show: "load nftables table inet " + Table(c.NS) + " on the host"}}
}

func nsFirewall(c Config) []plan.Step {
	in := []string{"ip", "netns", "exec", c.NS}
	if c.Firewall == IPTables {
		steps := iptablesNS(in, "iptables", c.NS)
		if c.Subnet6.IsValid() {
			steps = append(steps, iptablesNS(in, "ip6tables", c.NS)...)
		}
		return steps
	}
	return []plan.Step{plan.Command{Argv: append(in, "nft", "-f", "-"), Stdin: nsRuleset(c),
		Show: "load nftables table inet " + Table(c.NS) + " inside " + c.NS}}
}

func comment(ns string) []string { return []string{"-m", "comment", "--comment", Tag(ns)} }

// iptablesHost is the iptables (or ip6tables) version of hostRuleset.
func iptablesHost(tool, ns, ext, subnet string) []plan.Step {
	ch, host := Chain(ns), HostLink(ns)
	nat := []string{tool, "-t", "nat"}
	filter := []string{tool, "-t", "filter"}
	cmd := func(argv ...[]string) plan.Step { return plan.Command{Argv: slices.Concat(argv...)} }
	return []plan.Step{
		cmd(nat, []string{"-N", ch}),
		cmd(nat, []string{"-A", ch, "-o", ext, "-s", subnet}, comment(ns), []string{"-j", "MASQUERADE"}),
		cmd(nat, []string{"-A", "POSTROUTING"}, comment(ns), []string{"-j", ch}),
		cmd(filter, []string{"-N", ch}),
		cmd(filter, []string{"-A", ch, "-i", host, "-o", ext, "-s", subnet}, comment(ns), []string{"-j", "ACCEPT"}),
		cmd(filter, []string{"-A", ch, "-i", ext, "-o", host, "-d", subnet, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED"}, comment(ns), []string{"-j", "ACCEPT"}),
		cmd(filter, []string{"-A", ch, "-i", host}, comment(ns), []string{"-j", "DROP"}),
		cmd(filter, []string{"-A", ch, "-o", host}, comment(ns), []string{"-j", "DROP"}),
		cmd(filter, []string{"-I", "FORWARD"}, comment(ns), []string{"-j", ch}),
	}
}

// iptablesNS is the iptables (or ip6tables) version of nsRuleset.
func iptablesNS(in []string, tool, ns string) []plan.Step {
	ch := Chain(ns)
	nat := slices.Concat(in, []string{tool, "-t", "nat"})
	return []plan.Step{
		plan.Command{Argv: slices.Concat(nat, []string{"-N", ch})},
		plan.Command{Argv: slices.Concat(nat, []string{"-A", ch, "-o", NSLink}, comment(ns), []string{"-j", "MASQUERADE"})},
		plan.Command{Argv: slices.Concat(nat, []string{"-A", "POSTROUTING"}, comment(ns), []string{"-j", ch})},
	}
}

// Destroy is `npte gateway destroy NS`: it removes what npte recorded of
// the gateway of ns, in any state (namespace gone, table gone, half-made).
// ns must have passed CheckName. Under npte's lock, for the backend
// recorded at create (netns.GatewayRemoveSteps, full):
//
//	nft -f - <<'NPTE_EOF' 2>/dev/null || true     (declare, then delete table inet npte-gw-NS)
//	if test -n "$(ip -o link show dev if-NS group 28272 2>/dev/null)"; then ip link del dev if-NS; fi
//	if test -e /run/netns/NS; then
//		ip netns exec NS nft -f - <<'NPTE_EOF' 2>/dev/null || true   (same, inside NS)
//	fi
//	rm -f -- /run/npte/gateway/NS.nft; rm -f -- /run/npte/gateway/NS.iptables
//
// The iptables backend runs -D/-F/-X commands instead (iptables and
// ip6tables, all tolerant). Deleting the veth pair also removes the
// addresses and default route that create put inside NS. With no record
// (a gateway of an older npte), both backends' rules are removed
// tolerantly, and no interface: an if-NS that npte did not record, or that
// does not carry npte's link group, is never deleted.
func Destroy(ns string) plan.Plan {
	steps := []plan.Step{plan.Lock{}}
	steps = append(steps, netns.GatewayRemoveSteps(ns, true)...)
	steps = append(steps, plan.Note{Text: "net.ipv4.ip_forward (and IPv6 forwarding) are left as they are: other software may rely on them."})
	return plan.Plan{Argv: []string{"gateway", "destroy", ns}, Steps: steps}
}
