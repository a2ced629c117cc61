package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/npte/npte/exec"
	"github.com/npte/npte/shape"
	"github.com/npte/npte/shell"
)

// DoctorCmd is `npte doctor`.
type DoctorCmd struct {
	JSON bool `name:"json" help:"Print the report as JSON."`
}

// Help is the long help of doctor.
func (c *DoctorCmd) Help() string {
	return `Checks what npte needs, changing nothing on the host:
- every program of npte's allowlist: found (its absolute path in /usr/sbin, /usr/bin,
  /sbin or /bin, the only places npte looks) or missing (with its Debian package);
- the kernel features npte uses (veth, IPv6, the qdiscs netem, tbf, cake, fq_codel and
  ingress, ifb devices, the u32 classifier, the mirred action, nftables), each
  tried for real in a throwaway network namespace ('unshare --net', which vanishes with
  the probe; without root, 'unshare --map-root-user --net', where a feature built as a
  module that is not loaded yet can look missing: run it as root to be sure).
Each missing item says what stops working. One apt-get line lists the packages to
install. Exit status 1 when something required is missing, 0 otherwise.`
}

// feature is one kernel feature doctor probes.
type feature struct {
	name     string
	required bool
	tools    []string // allowlisted programs the probe runs (argv[0] first)
	argv     []string // the probe, run inside a fresh network namespace
	stdin    string
	affects  string // what stops working without it
	hint     string // where it comes from
}

// probeRuleset is what the nftables probe loads: the kind of table a
// gateway uses (inet family, a nat chain that masquerades, a filter chain).
const probeRuleset = `table inet npte-probe {
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "lo" masquerade
	}
	chain forward {
		type filter hook forward priority filter; policy accept;
		ct state established,related accept
	}
}
`

func features() []feature {
	return []feature{
		{"veth", true, []string{"ip"}, []string{"ip", "link", "add", "name", "npte0", "type", "veth", "peer", "name", "npte1"}, "",
			"every link: netns connect, lab create, gateway create", "kernel option CONFIG_VETH"},
		{"ipv6", false, []string{"sysctl"}, []string{"sysctl", "-n", "net.ipv6.conf.all.forwarding"}, "",
			"IPv6 addresses and routes, --subnet6 and IPv6 forwarding (every IPv4 verb and lab create still work)",
			"kernel module ipv6 (missing when the kernel is booted with ipv6.disable=1 or built without CONFIG_IPV6)"},
		{"netem", false, []string{"tc"}, shape.KernelProbe("netem"), "",
			"netem apply with delay, loss, duplicate, corrupt, reorder or slot, and lab netem profiles (a rate cap alone still works, with tbf)",
			"kernel module sch_netem (Ubuntu: package linux-modules-extra-$(uname -r); in a VM or container the host's kernel decides)"},
		{"tbf", false, []string{"tc"}, shape.KernelProbe("tbf"), "",
			"rate caps (netem apply --rate without impairments, and --child tbf)", "kernel module sch_tbf"},
		{"cake", false, []string{"tc"}, shape.KernelProbe("cake"), "",
			"netem apply --child cake and the 4g-managed lab profile", "kernel module sch_cake (Linux 4.19 and later)"},
		{"fq_codel", false, []string{"tc"}, shape.KernelProbe("fq_codel"), "",
			"netem apply --child fq_codel", "kernel module sch_fq_codel"},
		{"ingress", false, []string{"tc"}, shape.KernelProbe("ingress"), "",
			"netem apply --direction ingress", "kernel module sch_ingress"},
		{"ifb", false, []string{"ip"}, shape.KernelProbe("ifb"), "",
			"netem apply --direction ingress (arriving traffic is redirected to an ifb device)", "kernel module ifb"},
		{"u32", false, []string{"tc"}, []string{"tc", "-batch", "-"},
			"qdisc add dev lo ingress\nfilter add dev lo parent ffff: protocol all prio 1 u32 match u32 0 0\n",
			"netem apply --direction ingress (the match-all filter on the ingress qdisc)", "kernel module cls_u32"},
		{"mirred", false, []string{"tc"}, []string{"tc", "-batch", "-"},
			"qdisc add dev lo ingress\nfilter add dev lo parent ffff: protocol all prio 1 u32 match u32 0 0 action mirred egress redirect dev lo\n",
			"netem apply --direction ingress (the redirect to the ifb device)", "kernel module act_mirred"},
		{"nftables", false, []string{"nft"}, []string{"nft", "-f", "-"}, probeRuleset,
			"gateway create with the default firewall (--firewall iptables still works if iptables does)",
			"kernel modules nf_tables, nft_masq, nf_nat"},
	}
}

// ToolStatus is one allowlisted program in doctor's report.
type ToolStatus struct {
	Name     string `json:"name"`
	Package  string `json:"package"`
	Required bool   `json:"required"`
	Found    bool   `json:"found"`
	Path     string `json:"path"`
	Purpose  string `json:"purpose"`
}

// FeatureStatus is one kernel feature in doctor's report. Status is
// "present", "missing" or "unknown" (the probe could not run).
type FeatureStatus struct {
	Name     string   `json:"name"`
	Status   string   `json:"status"`
	Required bool     `json:"required"`
	Probe    []string `json:"probe"`
	Affects  string   `json:"affects"`
	Hint     string   `json:"hint"`
	Detail   string   `json:"detail"`
}

// DoctorReport is what doctor found.
type DoctorReport struct {
	Programs []ToolStatus    `json:"programs"`
	Features []FeatureStatus `json:"features"`
	// Packages are the Debian packages of the missing programs, each once,
	// in allowlist order; Install is the apt-get line for them.
	Packages []string `json:"missing_packages"`
	Install  string   `json:"install"`
	// RequiredMissing counts missing required programs and features.
	RequiredMissing int  `json:"required_missing"`
	Rootless        bool `json:"rootless"`
}

// stable returns the report with every array non-nil, so that its JSON
// shape does not depend on what was found: arrays are [] never null, and
// every key is always present ("" when empty).
func (rep DoctorReport) stable() DoctorReport {
	if rep.Programs == nil {
		rep.Programs = []ToolStatus{}
	}
	if rep.Features == nil {
		rep.Features = []FeatureStatus{}
	}
	if rep.Packages == nil {
		rep.Packages = []string{}
	}
	for i := range rep.Features {
		if rep.Features[i].Probe == nil {
			rep.Features[i].Probe = []string{}
		}
	}
	return rep
}

// Run implements the verb.
func (c *DoctorCmd) Run(app *App) error {
	rep := app.Doctor(app.Context())
	if c.JSON {
		b, _ := json.MarshalIndent(rep.stable(), "", "  ")
		if _, err := fmt.Fprintf(app.Env.Stdout, "%s\n", b); err != nil {
			return err
		}
	} else if err := rep.write(app.Env.Stdout); err != nil {
		return err
	}
	if rep.RequiredMissing > 0 {
		// Not a usage error: exit 1.
		return fmt.Errorf("doctor: %d required item(s) missing", rep.RequiredMissing)
	}
	return nil
}

// Doctor checks programs and kernel features.
func (a *App) Doctor(ctx context.Context) DoctorReport {
	r := a.Runner()
	var rep DoctorReport
	seen := map[string]bool{}
	found := map[string]string{}
	for _, t := range exec.Tools() {
		st := ToolStatus{Name: t.Name, Package: t.Package, Required: t.Required, Purpose: t.Purpose}
		if p, err := r.Resolve(t.Name); err == nil {
			st.Found, st.Path = true, p
			found[t.Name] = p
		} else {
			if t.Required {
				rep.RequiredMissing++
			}
			if !seen[t.Package] {
				seen[t.Package] = true
				rep.Packages = append(rep.Packages, t.Package)
			}
		}
		rep.Programs = append(rep.Programs, st)
	}
	if len(rep.Packages) > 0 {
		rep.Install = "sudo apt-get install " + strings.Join(rep.Packages, " ")
	}
	rep.Rootless = a.Env.Euid != 0
	prefix := []string{"unshare", "--net", "--"}
	if rep.Rootless {
		prefix = []string{"unshare", "--map-root-user", "--net", "--"}
	}
	// A control probe: can a throwaway namespace be made at all?
	control := ""
	if _, ok := found["unshare"]; !ok {
		control = "unshare (util-linux) is missing"
	} else if _, ok := found["ip"]; !ok {
		control = "ip (iproute2) is missing"
	} else if err := a.probe(ctx, r, found, append(prefix, "ip", "link", "show", "dev", "lo"), ""); err != nil {
		control = "cannot make a throwaway network namespace: " + err.Error()
	}
	for _, f := range features() {
		fs := FeatureStatus{Name: f.name, Required: f.required, Probe: append(append([]string(nil), prefix...), f.argv...), Affects: f.affects, Hint: f.hint}
		switch {
		case control != "":
			fs.Status, fs.Detail = "unknown", control
		case found[f.tools[0]] == "":
			fs.Status, fs.Detail = "unknown", f.tools[0]+" is missing"
		default:
			if err := a.probe(ctx, r, found, fs.Probe, f.stdin); err != nil {
				fs.Status, fs.Detail = "missing", err.Error()
			} else {
				fs.Status = "present"
			}
		}
		if fs.Status == "missing" && f.required {
			rep.RequiredMissing++
		}
		rep.Features = append(rep.Features, fs)
	}
	return rep
}

// probe runs argv (unshare ... -- PROGRAM ARGS), with PROGRAM replaced by
// its absolute path, through exec.Runner.Capture, the read path of every
// read-only verb; it returns nil when the probe succeeds, or an error
// holding the last line it printed (on stderr, else on stdout).
func (a *App) probe(ctx context.Context, r *exec.Runner, found map[string]string, argv []string, stdin string) error {
	argv = append([]string(nil), argv...)
	for i, w := range argv {
		if w == "--" && i+1 < len(argv) {
			argv[i+1] = found[argv[i+1]]
			break
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	res, _ := r.Capture(ctx, nil, exec.Read{Argv: argv, Stdin: stdin}) // no guards: no error
	err := res[0].Err
	if err == nil {
		return nil
	}
	msg := strings.TrimSpace(string(res[0].Stderr))
	if msg == "" {
		msg = strings.TrimSpace(string(res[0].Stdout))
	}
	if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
		msg = msg[i+1:]
	}
	if msg == "" {
		msg = err.Error()
	}
	return fmt.Errorf("%s", msg)
}

func (rep DoctorReport) write(w io.Writer) error {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("Programs (npte runs them only from %s):", strings.ReplaceAll(shell.SafePath, ":", ", "))
	for _, t := range rep.Programs {
		switch {
		case t.Found:
			p("  ok       %-10s %s", t.Name, t.Path)
		case t.Required:
			p("  MISSING  %-10s package %s; needed for %s", t.Name, t.Package, t.Purpose)
		default:
			p("  missing  %-10s package %s (optional); without it: no %s", t.Name, t.Package, t.Purpose)
		}
	}
	if rep.Rootless {
		p("Kernel features (tried in a throwaway network namespace, without root: run as root to be sure):")
	} else {
		p("Kernel features (tried in a throwaway network namespace):")
	}
	for _, f := range rep.Features {
		switch f.Status {
		case "present":
			p("  ok       %s", f.Name)
		case "unknown":
			p("  unknown  %-10s %s", f.Name, f.Detail)
		default:
			label := "missing "
			if f.Required {
				label = "MISSING "
			}
			p("  %s %-10s %s", label, f.Name, f.Detail)
			p("           %-10s without it: %s", "", f.Affects)
			p("           %-10s it comes with: %s", "", f.Hint)
		}
	}
	if rep.Install != "" {
		p("To install the missing programs:")
		p("  %s", rep.Install)
	}
	if rep.RequiredMissing > 0 {
		p("npte cannot work here: %d required item(s) missing (in capitals above).", rep.RequiredMissing)
	} else {
		p("Everything npte requires is here; lines marked missing or unknown limit only what they name.")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
