// Package shape turns link-shaping requests (npte's netem knobs) into tc
// qdisc trees, as pure Plan builders, and reads trees back from
// `tc -j qdisc show` into the same knob terms.
//
// Every knob value is validated whole by a grammar (grammar.go) before it
// is split into argv words with github.com/google/shlex.
//
// The tree is the simplest one that gives what was asked:
//
//   - impairments (delay, loss, duplicate, corrupt, reorder, slot, limit, or
//     a rate with packet/cell overheads): a root netem qdisc, handle 1:,
//     carrying every knob, --rate included;
//   - a rate cap alone: a root tbf qdisc, handle 1: (more faithful than
//     netem's rate, and it works on kernels without sch_netem);
//   - an optional child from an allowlist (cake, tbf, fq_codel) at
//     parent 1:, handle 2:, under netem; alone, the child becomes the
//     root.
//
// Egress shaping sits on IFACE itself. Ingress shaping redirects every
// packet arriving on IFACE (an ingress qdisc, handle ffff:, with a u32
// match-all filter and a mirred redirect) to an ifb device that npte
// creates inside the same namespace and names after IFACE (IfbName); the
// tree above then shapes the ifb device's egress.
package shape

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"

	"github.com/npte/npte/plan"
	"github.com/npte/npte/validate"
)

// Direction says which traffic of an interface is shaped.
type Direction string

// Directions.
const (
	Egress  Direction = "egress"  // packets leaving IFACE
	Ingress Direction = "ingress" // packets arriving on IFACE (through an ifb device)
	Both    Direction = "both"    // both of the above
)

// ParseDirection validates a --direction value.
func ParseDirection(s string) (Direction, error) {
	switch d := Direction(s); d {
	case Egress, Ingress, Both:
		return d, nil
	}
	return "", &validate.Error{Kind: "--direction value", Value: s, Rule: "must be egress, ingress or both"}
}

func (d Direction) egress() bool  { return d == Egress || d == Both }
func (d Direction) ingress() bool { return d == Ingress || d == Both }

// Children is the allowlist of child qdiscs. It is short on purpose: tc
// loads sch_KIND modules host-wide on demand. fq_codel (no rate of its
// own) is the default qdisc of most distributions: what users compare
// bufferbloat against.
var Children = []string{"cake", "tbf", "fq_codel"}

// DefaultLimit is netem's queue length when none is given (packets).
const DefaultLimit = 1000

// netem reports whether the request needs a netem qdisc.
func (s Spec) netem() bool {
	return s.Delay != nil || s.Loss != nil || s.Duplicate != nil || s.Corrupt != nil ||
		s.Reorder != nil || s.Slot != nil || s.Limit != 0 || s.Rate != nil && s.Rate.Overheads
}

// Tree is the qdisc tree for one device: the words after
// "tc qdisc add dev DEV root handle 1:" and, when there is a child, after
// "tc qdisc add dev DEV parent 1: handle 2:".
type Tree struct {
	Root  []string
	Child []string
	// Notes explain choices npte made (a raised limit, the uniform
	// distribution); Warnings are about behaviour the user may not expect.
	Notes    []string
	Warnings []string
}

// MTU is the packet size npte assumes for queue arithmetic (bytes).
const MTU = 1500

// TbfLatency is the tbf queue bound npte renders: tc sizes the queue so
// that a packet waits at most this long behind the cap.
const TbfLatency = "50ms"

// TbfBurst returns tbf's bucket size in bytes for a cap of bps bit/s:
// 10 ms worth of traffic at the cap, and at least 16384 bytes (about ten
// full-size frames), so that a cap is reachable whatever the kernel's
// timer granularity, without letting a burst much past 10 ms through.
func TbfBurst(bps float64) uint64 {
	b := uint64(math.Ceil(bps / 8 * 0.010))
	if b < 16384 {
		b = 16384
	}
	return b
}

// Tbf rate bounds (bit/s). tc hands tbf its bucket as a time in 64 ns
// ticks in a 32-bit field: below MinTbfRate the TbfBurst floor of 16384
// bytes takes more than 2^32 ticks, wraps, and the kernel keeps a bucket
// smaller than one MTU-sized packet (--rate 8bit reads back as burst 166b
// lat 3330s: nothing passes). tc also keeps the queue limit (the latency
// worth of bytes plus the burst, 60 ms at the rate) in 32 bits, which
// wraps above about 572gbit; MaxTbfRate is a round number below.
const (
	MinTbfRate = 480.0
	MaxTbfRate = 500e9
)

// tbfTicksPerSecond is the kernel's psched tick rate (PSCHED_SHIFT 6:
// 64 ns), fixed since Linux 2.6.31.
const tbfTicksPerSecond = 15.625e6

// TbfRateOK refuses a rate tbf cannot carry as npte renders it: its
// bucket (TbfBurst) must fit in 2^32 ticks and hold at least one packet
// of MTU bytes, and its limit must fit in 32 bits.
func TbfRateOK(flag, value string, bps float64) error {
	Bps := bps / 8
	burst := float64(TbfBurst(bps))
	ticks := burst / Bps * tbfTicksPerSecond
	if bps < MinTbfRate || ticks >= 1<<32 || burst < MTU {
		return &validate.Error{Kind: flag + " value", Value: value, Rule: fmt.Sprintf("tbf cannot enforce a rate below %s: its %.0f-byte bucket (at least one %d-byte packet) takes longer to fill than the kernel's 32-bit tick counter holds, so nothing would pass; the minimum is %s", FormatRate(MinTbfRate), burst, MTU, FormatRate(MinTbfRate))}
	}
	if bps > MaxTbfRate {
		return &validate.Error{Kind: flag + " value", Value: value, Rule: fmt.Sprintf("tbf cannot enforce a rate above %s (its queue limit would overflow 32 bits); the maximum is %s", FormatRate(MaxTbfRate), FormatRate(MaxTbfRate))}
	}
	return nil
}

func tbfWords(rate string, bps float64) []string {
	return []string{"tbf", "rate", rate, "burst", strconv.FormatUint(TbfBurst(bps), 10), "latency", TbfLatency}
}

// RaisedLimit returns the netem limit (packets) npte sets when the user
// gave none: twice the bandwidth-delay product in MTU-sized packets,
// rounded up to a multiple of 100, when that exceeds DefaultLimit;
// otherwise 0 (keep the default). bps is the cap, delay the delay plus
// the jitter, in seconds.
func RaisedLimit(bps, delay float64) (limit uint64, bdp float64) {
	bdp = bps / 8 * delay / MTU
	if 2*bdp <= DefaultLimit {
		return 0, bdp
	}
	return uint64(math.Ceil(2*bdp/100)) * 100, bdp
}

// Tree decides the qdisc tree for s, which must be validated.
func (s Spec) Tree() Tree {
	var t Tree
	switch {
	case s.netem():
		w := []string{"netem"}
		limit := uint64(s.Limit)
		if s.Delay != nil && limit == 0 {
			bps := 0.0
			if s.ChildRate != nil {
				bps = s.ChildRate.BitsPerSecond
			}
			if s.Rate != nil {
				bps = s.Rate.BitsPerSecond
			}
			if bps > 0 {
				var bdp float64
				total := s.Delay.Delay + s.Delay.Jitter
				if limit, bdp = RaisedLimit(bps, total); limit > 0 {
					t.Notes = append(t.Notes, fmt.Sprintf("limit raised to %d packets: the rate times the delay is %.0f packets of %d bytes, and netem's default queue of %d packets would silently cap the throughput (give --limit to choose)", limit, math.Ceil(bdp), MTU, DefaultLimit))
				}
			}
		}
		if limit != 0 {
			w = append(w, "limit", strconv.FormatUint(limit, 10))
		}
		if s.Delay != nil {
			w = append(w, "delay")
			w = append(w, s.Delay.Words...)
			switch s.Distribution {
			case "":
			case "uniform":
				t.Notes = append(t.Notes, "distribution uniform: tc ships no table for it; with no distribution word the kernel spreads the jitter uniformly, so none is rendered")
			default:
				w = append(w, "distribution", string(s.Distribution))
			}
			if len(s.Delay.Words) >= 2 && s.Rate == nil {
				t.Warnings = append(t.Warnings, "warning: jitter without --rate: netem delays each packet independently, so packets will be reordered (add --rate to keep them in order)")
			}
		}
		if s.Loss != nil {
			w = append(append(w, "loss"), s.Loss...)
		}
		if s.Duplicate != nil {
			w = append(append(w, "duplicate"), s.Duplicate...)
		}
		if s.Corrupt != nil {
			w = append(append(w, "corrupt"), s.Corrupt...)
		}
		if s.Reorder != nil {
			w = append(append(w, "reorder"), s.Reorder...)
		}
		if s.Rate != nil {
			w = append(append(w, "rate"), s.Rate.Words...)
		}
		if s.Slot != nil {
			w = append(append(w, "slot"), s.Slot...)
		}
		t.Root = w
		t.Child = s.childWords()
	case s.Rate != nil:
		t.Root = tbfWords(s.Rate.Words[0], s.Rate.BitsPerSecond)
	default:
		t.Root = s.childWords()
	}
	return t
}

func (s Spec) childWords() []string {
	switch s.Child {
	case "cake":
		if s.ChildRate != nil {
			return []string{"cake", "bandwidth", s.ChildRate.Word}
		}
		return []string{"cake"}
	case "tbf":
		return tbfWords(s.ChildRate.Word, s.ChildRate.BitsPerSecond)
	case "fq_codel":
		return []string{"fq_codel"}
	}
	return nil
}

// IfbName is the ifb device that carries the ingress shaping of iface:
// "ifb-IFACE" when that fits in 15 bytes (IFACE of at most 11 bytes, such
// as every if-NAME link npte makes: "ifb-if-client"); otherwise "ifb-",
// the first 5 bytes of IFACE and the first 6 hex digits of the SHA-256 of
// the whole name (15 bytes), so that long names sharing a prefix get
// distinct devices. The result passes validate.IfaceName whenever iface
// does.
func IfbName(iface string) string {
	if len(iface) <= 11 {
		return "ifb-" + iface
	}
	sum := sha256.Sum256([]byte(iface))
	return "ifb-" + iface[:5] + hex.EncodeToString(sum[:])[:6]
}

func tc(ns string, args ...string) []string {
	return append([]string{"tc", "-n", ns}, args...)
}

func ipn(ns string, args ...string) []string {
	return append([]string{"ip", "-n", ns}, args...)
}

// Guard checks, under the caller's lock, that ns is managed by npte and
// has an interface iface.
//
// Renders as the RequireManaged guard, then
// `if ! ip -n NS link show dev IFACE >/dev/null 2>&1; then ... exit 2; fi`.
func Guard(ns, iface string) []plan.Step {
	return []plan.Step{
		plan.RequireManaged{Name: ns},
		plan.RequireIface{NS: ns, Iface: iface},
	}
}

// KernelProbe returns the command (to run inside a throwaway network
// namespace: `unshare --net -- ARGV`) that succeeds only on a kernel that
// has feature: a qdisc kind npte builds (netem, tbf, cake, fq_codel,
// ingress) or "ifb". It is nil for anything else. doctor runs the same
// probes.
func KernelProbe(feature string) []string {
	switch feature {
	case "netem", "cake", "fq_codel":
		return []string{"tc", "qdisc", "add", "dev", "lo", "root", feature}
	case "tbf":
		return []string{"tc", "qdisc", "add", "dev", "lo", "root", "tbf", "rate", "1mbit", "burst", "32kbit", "latency", "50ms"}
	case "ingress":
		return []string{"tc", "qdisc", "add", "dev", "lo", "ingress"}
	case "ifb":
		return []string{"ip", "link", "add", "name", "npte0", "type", "ifb"}
	}
	return nil
}

// KernelGuard refuses, with exit 2 and before any change (in particular
// before the old tree is deleted), shaping that needs a qdisc kind (or,
// for ingress, an ifb device) this kernel does not have: one plan.Probe
// per feature the trees of specs use in direction dir, each tried in a
// throwaway network namespace, which vanishes with the probe. On a kernel
// without sch_cake, `--child cake` stops with "npte: this kernel has no
// cake qdisc: see npte doctor".
//
// Renders as, for each feature:
//
//	if ! unshare --net -- tc qdisc add dev lo root KIND >/dev/null 2>&1; then
//		echo 'npte: this kernel has no KIND qdisc: see npte doctor' >&2; exit 2; fi
func KernelGuard(dir Direction, specs ...Spec) []plan.Step {
	var features []string
	seen := map[string]bool{}
	add := func(f string) {
		if !seen[f] && KernelProbe(f) != nil {
			seen[f] = true
			features = append(features, f)
		}
	}
	if dir.ingress() {
		add("ingress")
		add("ifb")
	}
	for _, s := range specs {
		t := s.Tree()
		if len(t.Root) > 0 {
			add(t.Root[0])
		}
		if len(t.Child) > 0 {
			add(t.Child[0])
		}
	}
	var steps []plan.Step
	for _, f := range features {
		msg := "this kernel has no " + f + " qdisc: see npte doctor"
		if f == "ifb" {
			msg = "this kernel has no ifb device (--direction ingress needs one): see npte doctor"
		}
		steps = append(steps, plan.Probe{
			Argv:        append([]string{"unshare", "--net", "--"}, KernelProbe(f)...),
			WantSuccess: true,
			Message:     msg,
		})
	}
	return steps
}

// ShapeSteps makes iface in ns carry exactly the tree of s in direction
// dir, whatever it carried before (the caller holds the lock and ran
// Guard). Each direction is cleared, then built:
//
//	egress:  tc -n NS qdisc del dev IFACE root || true
//	         tc -n NS qdisc add dev IFACE root handle 1: ROOT...
//	         tc -n NS qdisc add dev IFACE parent 1: handle 2: CHILD...
//	ingress: tc -n NS qdisc del dev IFACE ingress || true
//	         ip -n NS link del dev IFB || true
//	         ip -n NS link add name IFB type ifb
//	         ip -n NS link set dev IFB up
//	         tc -n NS qdisc add dev IFB root handle 1: ROOT...   (and CHILD)
//	         tc -n NS qdisc add dev IFACE handle ffff: ingress
//	         tc -n NS filter add dev IFACE parent ffff: protocol all prio 1 u32 match u32 0 0 action mirred egress redirect dev IFB
//
// tc cannot "replace" a root qdisc of one kind with another at the same
// handle, so clear-then-add (in one plan, under the lock) is what makes
// apply declarative: changing one knob needs no separate clear.
func ShapeSteps(ns, iface string, dir Direction, s Spec) []plan.Step {
	t := s.Tree()
	var steps []plan.Step
	for _, n := range t.Notes {
		steps = append(steps, plan.Note{Text: ns + "/" + iface + ": " + n})
	}
	for _, w := range t.Warnings {
		steps = append(steps, plan.Note{Text: ns + "/" + iface + ": " + w})
	}
	build := func(dev string) []plan.Step {
		out := []plan.Step{plan.Command{Argv: tc(ns, append([]string{"qdisc", "add", "dev", dev, "root", "handle", "1:"}, t.Root...)...)}}
		if t.Child != nil {
			out = append(out, plan.Command{Argv: tc(ns, append([]string{"qdisc", "add", "dev", dev, "parent", "1:", "handle", "2:"}, t.Child...)...)})
		}
		return out
	}
	if dir.egress() {
		steps = append(steps, clearEgress(ns, iface)...)
		steps = append(steps, build(iface)...)
	}
	if dir.ingress() {
		ifb := IfbName(iface)
		steps = append(steps, clearIngress(ns, iface)...)
		steps = append(steps,
			plan.Command{Argv: ipn(ns, "link", "add", "name", ifb, "type", "ifb")},
			plan.Command{Argv: ipn(ns, "link", "set", "dev", ifb, "up")},
		)
		steps = append(steps, build(ifb)...)
		steps = append(steps,
			plan.Command{Argv: tc(ns, "qdisc", "add", "dev", iface, "handle", "ffff:", "ingress")},
			plan.Command{Argv: tc(ns, "filter", "add", "dev", iface, "parent", "ffff:", "protocol", "all", "prio", "1",
				"u32", "match", "u32", "0", "0", "action", "mirred", "egress", "redirect", "dev", ifb)},
		)
	}
	return steps
}

func clearEgress(ns, iface string) []plan.Step {
	return []plan.Step{plan.Command{Argv: tc(ns, "qdisc", "del", "dev", iface, "root"), Tolerant: true,
		Show: "remove the egress shaping of " + iface + " in " + ns + ", if any"}}
}

func clearIngress(ns, iface string) []plan.Step {
	ifb := IfbName(iface)
	return []plan.Step{
		plan.Command{Argv: tc(ns, "qdisc", "del", "dev", iface, "ingress"), Tolerant: true,
			Show: "remove the ingress redirect of " + iface + " in " + ns + ", if any"},
		plan.Command{Argv: ipn(ns, "link", "del", "dev", ifb), Tolerant: true,
			Show: "remove the ifb device " + ifb + " in " + ns + ", if any"},
	}
}

// ClearSteps removes npte's shaping of iface in direction dir (the caller
// holds the lock and ran Guard); every step is tolerant, so clearing an
// unshaped interface succeeds:
//
//	egress:  tc -n NS qdisc del dev IFACE root || true
//	ingress: tc -n NS qdisc del dev IFACE ingress || true
//	         ip -n NS link del dev IFB || true
func ClearSteps(ns, iface string, dir Direction) []plan.Step {
	var steps []plan.Step
	if dir.egress() {
		steps = append(steps, clearEgress(ns, iface)...)
	}
	if dir.ingress() {
		steps = append(steps, clearIngress(ns, iface)...)
	}
	return steps
}

// Apply is `npte netem apply [--direction DIR] KNOBS... NS IFACE`: lock,
// Guard, KernelGuard, ShapeSteps. ns and iface must have passed validate.NetnsName and
// validate.IfaceName.
func Apply(ns, iface string, dir Direction, s Spec) plan.Plan {
	argv := []string{"netem", "apply"}
	if dir != Egress {
		argv = append(argv, "--direction", string(dir))
	}
	argv = append(append(argv, s.Args()...), ns, iface)
	steps := append([]plan.Step{plan.Lock{}}, Guard(ns, iface)...)
	steps = append(steps, KernelGuard(dir, s)...)
	return plan.Plan{
		Argv:  argv,
		Steps: append(steps, ShapeSteps(ns, iface, dir, s)...),
		Undo:  []string{"netem", "clear", "--direction", string(dir), ns, iface},
	}
}

// Clear is `npte netem clear [--direction DIR] NS IFACE`: lock, Guard,
// ClearSteps.
func Clear(ns, iface string, dir Direction) plan.Plan {
	argv := []string{"netem", "clear"}
	if dir != Both {
		argv = append(argv, "--direction", string(dir))
	}
	steps := append([]plan.Step{plan.Lock{}}, Guard(ns, iface)...)
	return plan.Plan{
		Argv:  append(argv, ns, iface),
		Steps: append(steps, ClearSteps(ns, iface, dir)...),
	}
}
