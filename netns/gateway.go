package netns

// Builders for the removal of npte gateway's host state. They live here
// so that netns destroy and lab destroy (which package gateway cannot be
// imported by) remove a namespace's gateway with the same steps as
// `gateway destroy`.

import (
	"slices"
	"strings"

	"github.com/npte/npte/plan"
)

// GatewayTable is the nftables table (family inet) of the gateway of ns,
// on the host and inside ns: npte-gw-NS.
func GatewayTable(ns string) string { return "npte-gw-" + ns }

// GatewayChain is the iptables chain of the gateway of ns: NPTE-GW-NS.
func GatewayChain(ns string) string { return "NPTE-GW-" + strings.ToUpper(ns) }

// GatewayTag is the comment every firewall rule of the gateway of ns
// carries: npte:gw:NS.
func GatewayTag(ns string) string { return "npte:gw:" + ns }

// GatewayDeleteRuleset is the nft payload that deletes table inet
// npte-gw-NS whether or not it exists: the first line declares it (a no-op
// when it exists), the second deletes it, in one atomic transaction.
func GatewayDeleteRuleset(ns string) string {
	return "table inet " + GatewayTable(ns) + "\ndelete table inet " + GatewayTable(ns) + "\n"
}

func gatewayComment(ns string) []string {
	return []string{"-m", "comment", "--comment", GatewayTag(ns)}
}

// GatewayIptablesDelete removes what gateway create's iptables backend
// made with tool (iptables or ip6tables), run after prefix (nil on the
// host, ip netns exec NS inside): the tagged jump rules one by one with
// -D, then npte's own chain is flushed and deleted, in nat and, with
// filter, in the filter table. Every command is tolerant: any of them may
// already be gone.
func GatewayIptablesDelete(prefix []string, tool, ns string, filter bool) []plan.Step {
	ch := GatewayChain(ns)
	t := func(argv ...[]string) plan.Step {
		return plan.Command{Argv: slices.Concat(prefix, []string{tool}, slices.Concat(argv...)), Tolerant: true}
	}
	steps := []plan.Step{
		t([]string{"-t", "nat", "-D", "POSTROUTING"}, gatewayComment(ns), []string{"-j", ch}),
		t([]string{"-t", "nat", "-F", ch}),
		t([]string{"-t", "nat", "-X", ch}),
	}
	if filter {
		steps = append(steps,
			t([]string{"-t", "filter", "-D", "FORWARD"}, gatewayComment(ns), []string{"-j", ch}),
			t([]string{"-t", "filter", "-F", ch}),
			t([]string{"-t", "filter", "-X", ch}),
		)
	}
	return steps
}

// gatewayFirewallDelete removes the rules of backend fw on the host and,
// with inside, in NS (if it still exists).
func gatewayFirewallDelete(ns, fw string, inside bool) []plan.Step {
	in := []string{"ip", "netns", "exec", ns}
	var host, nsSteps []plan.Step
	if fw == plan.GatewayIPTables {
		host = append(GatewayIptablesDelete(nil, "iptables", ns, true), GatewayIptablesDelete(nil, "ip6tables", ns, true)...)
		nsSteps = append(GatewayIptablesDelete(in, "iptables", ns, false), GatewayIptablesDelete(in, "ip6tables", ns, false)...)
	} else {
		host = []plan.Step{plan.Command{Argv: []string{"nft", "-f", "-"}, Stdin: GatewayDeleteRuleset(ns), Tolerant: true,
			Show: "delete nftables table inet " + GatewayTable(ns) + " on the host"}}
		nsSteps = []plan.Step{plan.Command{Argv: append(in, "nft", "-f", "-"), Stdin: GatewayDeleteRuleset(ns), Tolerant: true,
			Show: "delete nftables table inet " + GatewayTable(ns) + " inside " + ns}}
	}
	if inside {
		host = append(host, plan.IfNetns{Name: ns, Then: nsSteps})
	}
	return host
}

// GatewayLinkDelete deletes the host link if-NS only when it carries
// npte's link group (LinkGroup): an if-NS that npte did not make stays.
//
// Renders as:
//
//	if test -n "$(ip -o link show dev if-NS group 28272 2>/dev/null)"; then
//		ip link del dev if-NS
//	fi
func GatewayLinkDelete(ns string) plan.Step {
	host := LinkName(ns)
	return plan.IfOutput{Argv: []string{"ip", "-o", "link", "show", "dev", host, "group", LinkGroup},
		Then: []plan.Step{plan.Command{Argv: []string{"ip", "link", "del", "dev", host}}}}
}

// GatewayRemoveSteps removes the host state of the gateway of ns that
// npte recorded (the caller holds the lock): for each recorded backend,
// its firewall rules on the host, the host link if-NS if it carries npte's
// link group (the peer and the addresses and route inside NS go with it)
// and, with full, the rules inside NS; then the records. With full, a
// gateway with no record (made by an older npte) still loses its firewall
// rules, both backends tolerantly, but never a link.
//
// `gateway destroy NS` runs it with full; `netns destroy NS` (and lab
// destroy) without, just before the namespace goes.
func GatewayRemoveSteps(ns string, full bool) []plan.Step {
	steps := []plan.Step{plan.RequireSafeGatewayRecords{NS: ns}}
	for _, fw := range []string{plan.GatewayNFT, plan.GatewayIPTables} {
		then := gatewayFirewallDelete(ns, fw, full)
		then = append(then, GatewayLinkDelete(ns))
		steps = append(steps, plan.IfGatewayRecord{NS: ns, Firewall: fw, Then: then})
	}
	if full {
		then := []plan.Step{plan.Note{Text: "npte has no record of a gateway of " + ns + ": removing its nft table and iptables chains if present; an interface " + LinkName(ns) + " is left alone (if it is a leftover of an older npte, remove it with: ip link del dev " + LinkName(ns) + ")."}}
		then = append(then, gatewayFirewallDelete(ns, plan.GatewayNFT, true)...)
		then = append(then, gatewayFirewallDelete(ns, plan.GatewayIPTables, true)...)
		steps = append(steps, plan.IfGatewayRecord{NS: ns, Then: then})
	}
	return append(steps,
		plan.RemoveGatewayRecord{NS: ns, Firewall: plan.GatewayNFT},
		plan.RemoveGatewayRecord{NS: ns, Firewall: plan.GatewayIPTables},
	)
}
