package plan

// Step types for npte gateway's host state: its records, and the guards
// and conditionals its create and destroy (and netns destroy, lab
// destroy) use. The builders live in package netns (the removal, shared
// with netns destroy) and package gateway.

import "strings"

// The gateway firewall backends, as named in gateway records.
const (
	GatewayNFT      = "nft"
	GatewayIPTables = "iptables"
)

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
