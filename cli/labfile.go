package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/user"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/npte/npte/exec"
	"github.com/npte/npte/plan"
	"github.com/npte/npte/topology"
	"github.com/npte/npte/userfile"
	"github.com/npte/npte/validate"
)

// LabFileCmds are the lab verbs that work from a lab file (package
// topology). They are embedded in LabCmd.
type LabFileCmds struct {
	Check  LabCheckCmd  `cmd:"" help:"Check a lab file and change nothing."`
	Plan   LabPlanCmd   `cmd:"" help:"Print what apply of a lab file would change, in words."`
	Apply  LabApplyCmd  `cmd:"" help:"Build a lab from a file, or change it to match the file."`
	List   LabListCmd   `cmd:"" help:"List the labs applied from files."`
	Show   LabShowCmd   `cmd:"" help:"Show an applied lab's nodes, links, addresses, routes and shaping."`
	Graph  LabGraphCmd  `cmd:"" help:"Print a lab as a graph (Graphviz DOT or Mermaid)."`
	Schema LabSchemaCmd `cmd:"" help:"Print the JSON Schema of lab files (for editors)."`
}

// loadLab reads and resolves a lab file. Errors in the file become exit
// 2: with all, lab check's verbose form, every error with its line:column
// and snippet; otherwise the first one in one line, with the number of
// others (lab check shows them all).
func (a *App) loadLab(path string, all bool) (*topology.Lab, error) {
	if path == "" {
		return nil, Usagef("invalid lab file \"\": must not be empty")
	}
	cred, who, err := a.caller()
	if err != nil {
		return nil, err
	}
	data, err := userfile.Read(path, cred)
	if err != nil {
		if u := errors.Unwrap(err); u != nil {
			err = u
		}
		return nil, Usagef("cannot read lab file %s%s: %v", path, who, err)
	}
	l, err := topology.LoadBytes(path, data)
	var es topology.Errors
	if !errors.As(err, &es) {
		return l, err
	}
	if !all {
		e := *es[0]
		e.Snippet = ""
		msg := e.Error()
		if len(es) > 1 {
			msg += fmt.Sprintf(" (and %d more: npte lab check %s shows them)", len(es)-1, path)
		}
		return nil, Usagef("%s", msg)
	}
	for _, e := range es {
		lines := strings.Split(strings.TrimRight(e.Error(), "\n"), "\n")
		for i, line := range lines {
			if i == 0 {
				line = "npte: " + line
			}
			fmt.Fprintln(a.Env.Stderr, oneLine(line))
		}
	}
	return nil, &exitCode{2}
}

// caller returns whose rights a file named on the command line is read
// with: under sudo from another user ($SUDO_USER, not root), that user's,
// so that a NOPASSWD grant cannot be used to read (and have a parse error
// quote) a file the user could not read; otherwise npte's own (nil). who
// names the user for messages.
func (a *App) caller() (cred *userfile.Cred, who string, err error) {
	name := a.Env.Getenv("SUDO_USER")
	if a.Env.Euid != 0 || name == "" || name == "root" {
		return nil, "", nil
	}
	refuse := func(err error) (*userfile.Cred, string, error) {
		return nil, "", Usagef("cannot read files as $SUDO_USER %q: %v", name, err)
	}
	if a.Env.LookupUser == nil {
		return refuse(errors.New("no user database"))
	}
	u, err := a.Env.LookupUser(name)
	if err != nil {
		return refuse(err)
	}
	groups := a.Env.UserGroups
	if groups == nil {
		groups = (*user.User).GroupIds
	}
	gids, err := groups(u)
	if err != nil {
		return refuse(err)
	}
	c := &userfile.Cred{}
	ids := append([]string{u.Uid, u.Gid}, gids...)
	for i, id := range ids {
		n, err := strconv.ParseUint(id, 10, 32)
		if err != nil {
			return refuse(fmt.Errorf("id %q is not a number", id))
		}
		switch i {
		case 0:
			c.UID = uint32(n)
		case 1:
			c.GID = uint32(n)
		default:
			c.Groups = append(c.Groups, uint32(n))
		}
	}
	return c, " as " + name, nil
}

// labRecord reads the record of lab name; a record that is unsafe or
// unreadable is a refusal (exit 2).
func (a *App) labRecord(name string) (*topology.Record, error) {
	rec, err := topology.ReadRecord(a.Env.Layout.Root, name, a.Env.Owner)
	if err != nil {
		return nil, Usage(err)
	}
	return rec, nil
}

// LabCheckCmd is `npte lab check FILE`.
type LabCheckCmd struct {
	File string `arg:"" placeholder:"FILE" help:"The lab file (YAML)."`
}

// Help is the long help of lab check.
func (c *LabCheckCmd) Help() string {
	return `Parses and checks a lab file and changes nothing. Every error names its line:column and shows
the offending part of the file. Refused: unknown keys, duplicate names, a link to an unknown
node, interface names over 15 bytes, overlapping subnets, static routes that loop, a profile
that does not exist, shaping that 'netem apply' would refuse. Exit 0: the file is good;
exit 2: it is not.`
}

// Run implements the verb.
func (c *LabCheckCmd) Run(app *App) error {
	l, err := app.loadLab(c.File, true)
	if err != nil {
		return err
	}
	fmt.Fprintf(app.Env.Stdout, "%s: lab %s is valid: %d nodes, %d links, %d routes\n", c.File, l.Name, len(l.Nodes), len(l.Links), len(l.Routes))
	return nil
}

// LabPlanCmd is `npte lab plan FILE`.
type LabPlanCmd struct {
	File string `arg:"" placeholder:"FILE" help:"The lab file (YAML)."`
}

// Help is the long help of lab plan.
func (c *LabPlanCmd) Help() string {
	return `Compares the lab file with the lab's record (/run/npte/lab/NAME/, written by apply) and
prints the difference object by object: + added, - removed, ~ changed in place (nodes, links,
addresses, routes, shaping, uplink). A lab that does not exist yet is all additions. As root
it first reads the kernel, as lab show does: an address or an egress shaping that drifted
from the record shows as the change that restores the file's. It changes nothing.`
}

// labFileAndRecord reads the lab file and the record of the lab it
// names (nil when there is none).
func (a *App) labFileAndRecord(file string) (*topology.Lab, *topology.Record, error) {
	l, err := a.loadLab(file, false)
	if err != nil {
		return nil, nil, err
	}
	rec, err := a.labRecord(l.Name)
	if err != nil {
		return nil, nil, err
	}
	return l, rec, nil
}

// Run implements the verb.
func (c *LabPlanCmd) Run(app *App) error {
	l, rec, err := app.labFileAndRecord(c.File)
	if err != nil {
		return err
	}
	var old *topology.Lab
	if rec != nil {
		if old, err = app.labRefresh(rec.Lab); err != nil {
			return err
		}
	}
	_, err = io.WriteString(app.Env.Stdout, topology.FormatDiff(l.Name, topology.Diff(old, l)))
	return err
}

// labRefresh is the record old as the plan of lab plan and lab apply
// starts from: as root, with each address and egress shaping that drifted
// in the kernel taken from the kernel (topology.Refresh), so that the
// plan restores the file's; otherwise old itself.
func (a *App) labRefresh(old *topology.Lab) (*topology.Lab, error) {
	if old == nil || a.Env.Euid != 0 {
		return old, nil
	}
	kernel, err := a.labKernel(old)
	if err != nil {
		return nil, err
	}
	return topology.Refresh(old, kernel)
}

// LabApplyCmd is `npte lab apply FILE [--dry-run] [--output json]`.
type LabApplyCmd struct {
	DryRun
	NoBatch
	Output string `enum:"text,json" default:"text" placeholder:"FORMAT" help:"text (run, or the script with --dry-run) or json (print the plan's typed steps and change nothing)."`
	File   string `arg:"" placeholder:"FILE" help:"The lab file (YAML)."`
}

// Help is the long help of lab apply.
func (c *LabApplyCmd) Help() string {
	return `Builds the lab the file describes as one plan under one lock (one POSIX script with
--dry-run): 'netns create' of every node, a veth pair per link (each end born in its
namespace, link group 28272), addresses, routes, the shaping of 'netem apply' per direction,
and the uplink of 'gateway create'. The file is recorded in /run/npte/lab/NAME/.

Apply converges: with the lab already there, the plan holds only the changes (lab plan FILE
prints them in words); with no changes, only its guards. As root it first reads the kernel,
as lab show does, and restores each address and egress shaping that drifted from the record
(a missing namespace or interface, or ingress shaping added by hand, it leaves to lab
destroy and netem clear). --output json prints the plan
itself (typed steps) and changes nothing.

Refuses (exit 2, nothing changed): an invalid file (see lab check), a node name taken by a
namespace outside the lab, a record that changed since the plan was made; through sudo by
another user ($SUDO_USER), a lab whose uplink is to be made (npte gateway is not in the
NOPASSWD grant). Through sudo the file is read with $SUDO_USER's rights. If a step fails,
'npte lab destroy NAME' removes what was made.`
}

// Run implements the verb.
func (c *LabApplyCmd) Run(app *App) error {
	l, err := app.loadLab(c.File, false)
	if err != nil {
		return err
	}
	return app.labApply(l, c.File, []string{"lab", "apply", c.File}, c.DryRun.DryRun, c.NoBatch, c.Output, true)
}

// labApply is the one path of lab apply and lab create: the plan of
// topology.Apply from the lab's record (nil when it has none) to l,
// refused when an earlier apply did not finish or, through sudo, when
// it makes an uplink; batched unless nb says not; printed as JSON with
// output "json", otherwise run (the difference in words on stderr first)
// or printed as a script. file names the lab file in messages; argv is
// the command line the script's header names. preview says whether a
// live run prints the difference in words first (lab apply does; lab
// create, whose file never changes, does not, so that a refusal stays
// one npte: line).
func (a *App) labApply(l *topology.Lab, file string, argv []string, dry bool, nb NoBatch, output string, preview bool) error {
	rec, err := a.labRecord(l.Name)
	if err != nil {
		return err
	}
	var old *topology.Lab
	if rec != nil {
		if rec.Previous != nil {
			return Usagef("an apply of lab %s did not finish (%s/%s exists): run npte lab destroy %s, then apply again", l.Name, topology.RecordDir(a.Env.Layout.Root, l.Name), topology.PreviousFile, l.Name)
		}
		if old, err = a.labRefresh(rec.Lab); err != nil {
			return err
		}
	}
	p := topology.Apply(l, old, a.Env.Layout.Root, argv)
	if cred, _, err := a.caller(); err != nil {
		return err
	} else if cred != nil && !dry && output != "json" && makesUplink(p) {
		return Usagef("lab %s: its uplink changes the host's firewall and forwarding, which a verb run through sudo by %s may not do (npte gateway is not in the NOPASSWD grant): remove uplink: from %s, or have an admin apply it: sudo env -u SUDO_USER npte lab apply %s", l.Name, a.Env.Getenv("SUDO_USER"), file, file)
	}
	p = nb.Batched(p)
	if output == "json" {
		_, err := a.Env.Stdout.Write(topology.PlanJSON(p))
		return err
	}
	if !dry && preview {
		io.WriteString(a.Env.Stderr, topology.FormatDiff(l.Name, topology.Diff(old, l)))
	}
	return a.Apply(p, dry)
}

// makesUplink reports whether p creates a gateway (an uplink): a step
// that records one.
func makesUplink(p plan.Plan) bool {
	found := false
	plan.Walk(p.Steps, func(s plan.Step) {
		if _, ok := s.(plan.WriteGatewayRecord); ok {
			found = true
		}
	})
	return found
}

// labDestroyTarget is `npte lab destroy NAME|FILE`: the plan of
// topology.Destroy from the lab's record (and the file's nodes, if a
// file is named and the lab has no record).
func (a *App) labDestroyTarget(t validate.LabTarget, dry bool, nb NoBatch) error {
	target := string(t)
	name := target
	var fromFile *topology.Lab
	if t.IsFile() {
		l, err := a.loadLab(target, false)
		if err != nil {
			return err
		}
		name, fromFile = l.Name, l
	}
	rec, err := a.labRecord(name)
	if err != nil {
		return err
	}
	var labs []*topology.Lab
	if rec != nil {
		labs = append(labs, rec.Lab, rec.Previous)
	} else if fromFile != nil {
		labs = append(labs, fromFile)
	} else {
		return Usagef("lab %s: no such lab (npte lab list shows them; npte lab destroy FILE removes the nodes of a lab file that has no record)", name)
	}
	return a.Apply(nb.Batched(topology.Destroy(name, labs, a.Env.Layout.Root)), dry)
}

// LabListCmd is `npte lab list`.
type LabListCmd struct{}

// Run implements the verb.
func (c *LabListCmd) Run(app *App) error {
	names, err := topology.ListRecords(app.Env.Layout.Root, app.Env.Owner)
	if err != nil {
		return Usage(err)
	}
	tw := tabwriter.NewWriter(app.Env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "LAB\tNODES\tLINKS\tSTATE")
	for _, n := range names {
		rec, err := app.labRecord(n)
		if err != nil {
			return err
		}
		state, nodes, links := "applied", 0, 0
		switch {
		case rec == nil || rec.Lab == nil:
			state = "incomplete (npte lab destroy " + n + ")"
		case rec.Previous != nil:
			state = "apply unfinished (npte lab destroy " + n + ")"
		}
		if rec != nil && rec.Lab != nil {
			nodes, links = len(rec.Lab.Nodes), len(rec.Lab.Links)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", n, nodes, links, state)
	}
	return tw.Flush()
}

// LabShowCmd is `npte lab show NAME [--json]`.
type LabShowCmd struct {
	JSON bool             `name:"json" help:"Print the lab's record as JSON."`
	Name validate.LabName `arg:"" placeholder:"NAME" help:"The lab's name."`
}

// Help is the long help of lab show.
func (c *LabShowCmd) Help() string {
	return `Prints an applied lab from its record (/run/npte/lab/NAME/): its nodes, links, addresses,
routes, shaping and uplink. As root it also reads the kernel (ip -j addr show and tc -j qdisc
show in each node, under npte's lock if it exists, creating nothing) and flags each
difference from the record (drift): a missing namespace or interface, other addresses, other
egress shaping (compared knob by knob; a qdisc added by hand counts), any ingress shaping.
lab apply FILE restores drifted addresses and egress shaping. --json prints {"lab": RECORD,
"drift": [...]} ("drift" is null without root).`
}

// Run implements the verb.
func (c *LabShowCmd) Run(app *App) error {
	rec, err := app.labRecord(string(c.Name))
	if err != nil {
		return err
	}
	if rec == nil || rec.Lab == nil {
		return Usagef("lab %s: no such lab (npte lab list shows them)", c.Name)
	}
	l := rec.Lab
	var drift []string
	read := app.Env.Euid == 0
	if read {
		if drift, err = app.labDrift(l); err != nil {
			return err
		}
	}
	if c.JSON {
		b, err := json.Marshal(map[string]any{"lab": json.RawMessage(l.Encode()), "drift": drift})
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(app.Env.Stdout, "%s\n", b)
		return err
	}
	w := app.Env.Stdout
	fmt.Fprintf(w, "lab %s\n", l.Name)
	for _, o := range l.Objects() {
		if o.Value != "" {
			fmt.Fprintf(w, "  %-8s %s (%s)\n", o.Kind, o.Key, o.Value)
		} else {
			fmt.Fprintf(w, "  %-8s %s\n", o.Kind, o.Key)
		}
	}
	switch {
	case !read:
		fmt.Fprintln(w, "(the kernel was not read: run as root to compare it with the record)")
	case len(drift) == 0:
		fmt.Fprintln(w, "the kernel matches the record")
	default:
		for _, d := range drift {
			fmt.Fprintf(w, "DRIFT %s\n", d)
		}
	}
	return nil
}

// labDrift reads each node of l from the kernel and compares it with the
// record (topology.Drift).
func (a *App) labDrift(l *topology.Lab) ([]string, error) {
	kernel, err := a.labKernel(l)
	if err != nil {
		return nil, err
	}
	return topology.Drift(l, kernel)
}

// labKernel reads each node of l from the kernel (under the lock if it
// exists, creating nothing): ip -j addr show and tc -j qdisc show.
func (a *App) labKernel(l *topology.Lab) (map[string]topology.NodeState, error) {
	unlock, err := a.Registry.LockExisting(a.Context())
	if err != nil {
		return nil, err
	}
	defer unlock()
	var reads []exec.Read
	for _, n := range l.Nodes {
		reads = append(reads,
			exec.Read{Argv: []string{"ip", "-n", n.Name, "-j", "addr", "show"}},
			exec.Read{Argv: []string{"tc", "-n", n.Name, "-j", "qdisc", "show"}})
	}
	res, err := a.Runner().Capture(a.Context(), nil, reads...)
	if err != nil {
		return nil, err
	}
	kernel := map[string]topology.NodeState{}
	for i, n := range l.Nodes {
		addr, qd := res[2*i], res[2*i+1]
		if addr.Err != nil || qd.Err != nil {
			kernel[n.Name] = topology.NodeState{Missing: true}
			continue
		}
		kernel[n.Name] = topology.NodeState{Addr: addr.Stdout, Qdisc: qd.Stdout}
	}
	return kernel, nil
}

// LabGraphCmd is `npte lab graph FILE|NAME [--format dot|mermaid]`.
type LabGraphCmd struct {
	Format string             `enum:"dot,mermaid" default:"dot" placeholder:"FORMAT" help:"dot (Graphviz) or mermaid."`
	Target validate.LabTarget `arg:"" placeholder:"FILE|NAME" help:"A lab file, or the name of an applied lab."`
}

// Run implements the verb.
func (c *LabGraphCmd) Run(app *App) error {
	var l *topology.Lab
	if c.Target.IsFile() {
		var err error
		if l, err = app.loadLab(string(c.Target), false); err != nil {
			return err
		}
	} else {
		rec, err := app.labRecord(string(c.Target))
		if err != nil {
			return err
		}
		if rec == nil || rec.Lab == nil {
			return Usagef("lab %s: no such lab (give a lab file, with a / or a .)", c.Target)
		}
		l = rec.Lab
	}
	g, err := topology.Graph(l, c.Format)
	if err != nil {
		return Usage(err)
	}
	_, err = io.WriteString(app.Env.Stdout, g)
	return err
}

// LabSchemaCmd is `npte lab schema`.
type LabSchemaCmd struct{}

// Run implements the verb.
func (c *LabSchemaCmd) Run(app *App) error {
	_, err := app.Env.Stdout.Write(topology.Schema())
	return err
}

// refuseLabNode refuses (exit 2) to act on namespace name alone when an
// applied lab file's record names it: the lab owns it.
func (a *App) refuseLabNode(name string) error {
	lab, err := a.labOwning(name, "")
	if err != nil || lab == "" {
		return err
	}
	return Usagef("%s is a node of lab %s: use npte lab destroy %s (or remove the node from the lab file and npte lab apply it)", name, lab, lab)
}

// labOwning returns the lab, other than except, whose record (or the
// previous.json of an unfinished apply) names node name, or "". An
// unreadable record directory is the lab verbs' business: it owns
// nothing here.
func (a *App) labOwning(name, except string) (string, error) {
	labs, err := topology.ListRecords(a.Env.Layout.Root, a.Env.Owner)
	if err != nil {
		return "", nil
	}
	for _, lab := range labs {
		if lab == except {
			continue
		}
		rec, err := topology.ReadRecord(a.Env.Layout.Root, lab, a.Env.Owner)
		if err != nil || rec == nil {
			continue
		}
		for _, l := range []*topology.Lab{rec.Lab, rec.Previous} {
			if l == nil {
				continue
			}
			for _, n := range l.Nodes {
				if n.Name == name {
					return lab, nil
				}
			}
		}
	}
	return "", nil
}
