package plan

// Steps and builders for npte gateway's host state. They live in plan so
// that netns destroy and lab destroy (which package gateway cannot be
// imported by) remove a namespace's gateway with the same steps as
// `gateway destroy`.

import (
	"slices"
	"strings"
)

// The gateway firewall backends, as named in gateway records.
const (
	GatewayNFT      = "nft"
	GatewayIPTables = "iptables"
)

// GatewayTable is the nftables table (family inet) of the gateway of ns,
// on the host and inside ns: npte-gw-NS.
func GatewayTable(ns string) string { return "npte-gw-" + ns }

// GatewayChain is the iptables chain of the gateway of ns: NPTE-GW-NS.
func GatewayChain(ns string) string { return "NPTE-GW-" + strings.ToUpper(ns) }

// GatewayTag is the comment every firewall rule of the gateway of ns
// carries: npte:gw:NS.
func GatewayTag(ns string) string { return "npte:gw:" + ns }

// RequireNoRoute refuses to go on (exit 2) when Argv, a read-only listing
// of the host's routes or addresses (`ip -o ... show ...`), prints any line
// other than a default route: a line whose first or second word is
// "default". The refusal names Message and the offending line. If Argv
// fails, the step fails (exit 1). gateway create uses it to refuse a
// subnet that overlaps what the host already has.
//
// Renders as:
//
//	npte_out=$(ARGV) || exit 1
//	while read -r npte_a npte_b npte_c; do
//		if test -n "$npte_a" && test "$npte_a" != default && test "$npte_b" != default; then
//			printf '%s %s %s %s\n' 'npte: MESSAGE:' "$npte_a" "$npte_b" "$npte_c" >&2
//			exit 2
//		fi
//	done <<NPTE_EOF
//	$npte_out
//	NPTE_EOF
type RequireNoRoute struct {
	Argv    []string
	Message string
}

// IfOutput runs Then only when Argv, a read-only command, prints anything
// on its standard output (its exit status and error output are ignored).
// gateway destroy uses it to delete the host link only when it carries
// npte's link group: `ip -o link show dev if-NS group 28272` prints
// nothing for a link of another group, and fails for a missing one.
//
// Renders as: if test -n "$(ARGV 2>/dev/null)"; then THEN...; fi
type IfOutput struct {
	Argv []string
	Then []Step
}

// RequireNoGatewayRecord refuses to go on (exit 2) when a gateway record
// of NS exists, whatever its type or backend: a gateway (or the leftovers
// of one) is there, and `npte gateway destroy NS` removes it.
//
// Renders as:
//
//	if test -L /run/npte/gateway || { test -e /run/npte/gateway && ! test -d /run/npte/gateway; }; then echo ... >&2; exit 2; fi
//	if test -e /run/npte/gateway/NS.nft || test -L ... || test -e /run/npte/gateway/NS.iptables || test -L ...; then
//		echo 'npte: ... run: npte gateway destroy NS' >&2; exit 2; fi
type RequireNoGatewayRecord struct{ NS string }

// WriteGatewayRecord records, before any host change, that npte is making
// a gateway for NS with backend Firewall (GatewayNFT or GatewayIPTables).
// Live mode creates it with O_CREAT|O_EXCL|O_NOFOLLOW.
//
// Renders as:
//
//	if test -L /run/npte/gateway || { test -e /run/npte/gateway && ! test -d /run/npte/gateway; }; then echo ... >&2; exit 2; fi
//	install -d -m 0755 /run/npte/gateway
//	(set -C; : >/run/npte/gateway/NS.FIREWALL)
type WriteGatewayRecord struct{ NS, Firewall string }

// RemoveGatewayRecord drops the record of NS with backend Firewall.
//
// Renders as: rm -f -- /run/npte/gateway/NS.FIREWALL
type RemoveGatewayRecord struct{ NS, Firewall string }

// RequireSafeGatewayRecords refuses to go on (exit 2) when the record
// directory is a symbolic link or not a directory, or a record path of NS
// is a symbolic link or not a regular file. It comes before the
// IfGatewayRecord and RemoveGatewayRecord steps of NS (live mode checks
// again at each of them, and refuses alike).
//
// Renders as:
//
//	if test -L /run/npte/gateway || { test -e /run/npte/gateway && ! test -d /run/npte/gateway; } ||
//	   test -L REC1 || { test -e REC1 && ! test -f REC1; } || ...; then echo ... >&2; exit 2; fi
type RequireSafeGatewayRecords struct{ NS string }

// IfGatewayRecord runs Then only when the gateway of NS is recorded with
// backend Firewall or, with Firewall "", when it is recorded with none.
// RequireSafeGatewayRecords must come first.
//
// Renders as:
//
//	if { test -f REC && ! test -L REC; }; then THEN...; fi                  (Firewall set)
//	if ! { test -f REC1 && ...; } && ! { test -f REC2 && ...; }; then THEN...; fi   (Firewall "")
type IfGatewayRecord struct {
	NS, Firewall string
	Then         []Step
}

func (RequireNoRoute) isStep()            {}
func (IfOutput) isStep()                  {}
func (RequireNoGatewayRecord) isStep()    {}
func (WriteGatewayRecord) isStep()        {}
func (RemoveGatewayRecord) isStep()       {}
func (IfGatewayRecord) isStep()           {}
func (RequireSafeGatewayRecords) isStep() {}

// Describe implements Step.
func (s RequireSafeGatewayRecords) Describe() string {
	return "check the gateway record paths of " + s.NS
}

// Describe implements Step.
func (s RequireNoRoute) Describe() string { return "check the host: " + strings.Join(s.Argv, " ") }

// Describe implements Step.
func (s IfOutput) Describe() string { return "if " + strings.Join(s.Argv, " ") + " prints anything" }

// Describe implements Step.
func (s RequireNoGatewayRecord) Describe() string {
	return "check that " + s.NS + " has no gateway record"
}

// Describe implements Step.
func (s WriteGatewayRecord) Describe() string {
	return "record the gateway of " + s.NS + " (" + s.Firewall + ")"
}

// Describe implements Step.
func (s RemoveGatewayRecord) Describe() string {
	return "drop the gateway record of " + s.NS + " (" + s.Firewall + ")"
}

// Describe implements Step.
func (s IfGatewayRecord) Describe() string {
	if s.Firewall == "" {
		return "if " + s.NS + " has no gateway record"
	}
	return "if the gateway of " + s.NS + " is recorded (" + s.Firewall + ")"
}

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
func GatewayIptablesDelete(prefix []string, tool, ns string, filter bool) []Step {
	ch := GatewayChain(ns)
	t := func(argv ...[]string) Step {
		return Command{Argv: slices.Concat(prefix, []string{tool}, slices.Concat(argv...)), Tolerant: true}
	}
	steps := []Step{
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
func gatewayFirewallDelete(ns, fw string, inside bool) []Step {
	in := []string{"ip", "netns", "exec", ns}
	var host, nsSteps []Step
	if fw == GatewayIPTables {
		host = append(GatewayIptablesDelete(nil, "iptables", ns, true), GatewayIptablesDelete(nil, "ip6tables", ns, true)...)
		nsSteps = append(GatewayIptablesDelete(in, "iptables", ns, false), GatewayIptablesDelete(in, "ip6tables", ns, false)...)
	} else {
		host = []Step{Command{Argv: []string{"nft", "-f", "-"}, Stdin: GatewayDeleteRuleset(ns), Tolerant: true,
			Show: "delete nftables table inet " + GatewayTable(ns) + " on the host"}}
		nsSteps = []Step{Command{Argv: append(in, "nft", "-f", "-"), Stdin: GatewayDeleteRuleset(ns), Tolerant: true,
			Show: "delete nftables table inet " + GatewayTable(ns) + " inside " + ns}}
	}
	if inside {
		host = append(host, IfNetns{Name: ns, Then: nsSteps})
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
func GatewayLinkDelete(ns string) Step {
	host := LinkName(ns)
	return IfOutput{Argv: []string{"ip", "-o", "link", "show", "dev", host, "group", LinkGroup},
		Then: []Step{Command{Argv: []string{"ip", "link", "del", "dev", host}}}}
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
func GatewayRemoveSteps(ns string, full bool) []Step {
	steps := []Step{RequireSafeGatewayRecords{NS: ns}}
	for _, fw := range []string{GatewayNFT, GatewayIPTables} {
		then := gatewayFirewallDelete(ns, fw, full)
		then = append(then, GatewayLinkDelete(ns))
		steps = append(steps, IfGatewayRecord{NS: ns, Firewall: fw, Then: then})
	}
	if full {
		then := []Step{Note{Text: "npte has no record of a gateway of " + ns + ": removing its nft table and iptables chains if present; an interface " + LinkName(ns) + " is left alone (if it is a leftover of an older npte, remove it with: ip link del dev " + LinkName(ns) + ")."}}
		then = append(then, gatewayFirewallDelete(ns, GatewayNFT, true)...)
		then = append(then, gatewayFirewallDelete(ns, GatewayIPTables, true)...)
		steps = append(steps, IfGatewayRecord{NS: ns, Then: then})
	}
	return append(steps,
		RemoveGatewayRecord{NS: ns, Firewall: GatewayNFT},
		RemoveGatewayRecord{NS: ns, Firewall: GatewayIPTables},
	)
}
