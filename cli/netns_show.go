package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/npte/npte/exec"
	"github.com/npte/npte/plan"
	"github.com/npte/npte/validate"
)

// NetnsShowCmd is `npte netns show NS [--section NAME]... [--json]`.
type NetnsShowCmd struct {
	Section []string `name:"section" short:"s" placeholder:"NAME" help:"Show only this section (repeatable, or comma-separated): link, addr, route, route6, qdisc, neigh, sockets, pids."`
	JSON    bool     `name:"json" help:"Print one JSON object, section name to the parsed ip -j / tc -j output."`
	Name    string   `arg:"" predictor:"netns" name:"ns" help:"A namespace made by npte."`
}

// Help is the long help of netns show.
func (c *NetnsShowCmd) Help() string {
	var b strings.Builder
	b.WriteString(`Shows what is inside namespace NS, one section after the other, each under a
'=== NAME ===' header, in this order whatever the order of --section flags:

`)
	for _, s := range showSections() {
		fmt.Fprintf(&b, "  %-8s %s\n", s.name, strings.Join(s.text("NS"), " "))
	}
	b.WriteString(`
It reads only, but needs root (it enters the namespace). Under npte's lock it checks NS's
marker, then runs the commands (concurrently; output in section order) and releases the
lock. With --json it prints one JSON object instead: each section as ip -j / tc -j prints
it; sockets as objects {netid, state, recv_q, send_q, local, peer, process} from 'ss -H';
pids as an array of numbers. A section whose command fails is reported on stderr (exit 1)
and is empty (null in JSON); the others are printed.

Refuses (exit 2): an invalid name, an unknown section, a namespace npte did not make.`)
	return b.String()
}

// showSection is one section of netns show: the command for text output,
// the command for JSON output, and how to turn the latter's output into
// JSON (nil: it is JSON already).
type showSection struct {
	name  string
	text  func(ns string) []string
	json  func(ns string) []string
	parse func(out []byte) (any, error)
}

func ipShow(args ...string) (func(string) []string, func(string) []string) {
	return func(ns string) []string { return append([]string{"ip", "-n", ns}, args...) },
		func(ns string) []string { return append([]string{"ip", "-n", ns, "-j"}, args...) }
}

// showSections returns the sections in canonical order. ip -n and tc -n
// enter the namespace themselves (no ip netns exec, no extra process); so
// does ss -N.
func showSections() []showSection {
	var out []showSection
	add := func(name string, args ...string) {
		t, j := ipShow(args...)
		out = append(out, showSection{name: name, text: t, json: j})
	}
	add("link", "link", "show")
	add("addr", "addr", "show")
	add("route", "route", "show")
	add("route6", "-6", "route", "show")
	out = append(out, showSection{
		name: "qdisc",
		text: func(ns string) []string { return []string{"tc", "-n", ns, "-s", "qdisc", "show"} },
		json: func(ns string) []string { return []string{"tc", "-n", ns, "-j", "-s", "qdisc", "show"} },
	})
	add("neigh", "neigh", "show")
	return append(out, showSection{
		name:  "sockets",
		text:  func(ns string) []string { return []string{"ss", "-N", ns, "-tunlp"} },
		json:  func(ns string) []string { return []string{"ss", "-N", ns, "-H", "-tunlp"} },
		parse: parseSockets,
	}, showSection{
		name:  "pids",
		text:  func(ns string) []string { return []string{"ip", "netns", "pids", ns} },
		json:  func(ns string) []string { return []string{"ip", "netns", "pids", ns} },
		parse: parsePids,
	})
}

// ShowSectionNames are the sections of netns show, in output order.
func ShowSectionNames() []string {
	all := showSections()
	names := make([]string, len(all))
	for i, s := range all {
		names[i] = s.name
	}
	return names
}

// Socket is one line of `ss -H -tunlp` in netns show --json.
type Socket struct {
	Netid   string `json:"netid"`
	State   string `json:"state"`
	RecvQ   int64  `json:"recv_q"`
	SendQ   int64  `json:"send_q"`
	Local   string `json:"local"`
	Peer    string `json:"peer"`
	Process string `json:"process,omitempty"`
}

func parseSockets(out []byte) (any, error) {
	socks := []Socket{}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) < 6 {
			return nil, fmt.Errorf("unexpected ss line %q", line)
		}
		rq, err1 := strconv.ParseInt(f[2], 10, 64)
		sq, err2 := strconv.ParseInt(f[3], 10, 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("unexpected ss line %q", line)
		}
		s := Socket{Netid: f[0], State: f[1], RecvQ: rq, SendQ: sq, Local: f[4], Peer: f[5]}
		if len(f) > 6 {
			// The process column may hold spaces (a program's name): it is
			// the rest of the line after the sixth field.
			rest := line
			for i := 0; i < 6; i++ {
				rest = strings.TrimLeft(rest, " \t")
				rest = rest[strings.IndexAny(rest, " \t"):]
			}
			s.Process = strings.TrimSpace(rest)
		}
		socks = append(socks, s)
	}
	return socks, nil
}

func parsePids(out []byte) (any, error) {
	pids := []int{}
	for _, f := range strings.Fields(string(out)) {
		n, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("unexpected pid %q", f)
		}
		pids = append(pids, n)
	}
	return pids, nil
}

// selectSections returns the requested sections in canonical order (all
// of them when none is named).
func selectSections(names []string) ([]showSection, error) {
	all := showSections()
	if len(names) == 0 {
		return all, nil
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	var out []showSection
	for _, s := range all {
		if want[s.name] {
			out = append(out, s)
			delete(want, s.name)
		}
	}
	for _, n := range names {
		if want[n] {
			return nil, Usagef("unknown section %q: valid sections are %s", n, strings.Join(ShowSectionNames(), ", "))
		}
	}
	return out, nil
}

// sectionResult is what one section's command printed.
type sectionResult struct {
	stdout, stderr bytes.Buffer
	err            error
}

// Run implements the verb.
func (c *NetnsShowCmd) Run(app *App) error {
	if err := validate.NetnsName(c.Name); err != nil {
		return Usage(err)
	}
	sections, err := selectSections(c.Section)
	if err != nil {
		return err
	}
	if err := app.RequireRootToRead("netns show", "entering namespace "+c.Name+" (ip netns exec "+c.Name+")"); err != nil {
		return err
	}
	unlock, err := app.Registry.LockExisting(app.Context()) // read-only: creates nothing
	if err != nil {
		return err
	}
	defer unlock()
	if err := app.Registry.RequireManaged(c.Name); err != nil {
		return err
	}
	results := make([]sectionResult, len(sections))
	var wg sync.WaitGroup
	for i, s := range sections {
		argv := s.text(c.Name)
		if c.JSON {
			argv = s.json(c.Name)
		}
		wg.Add(1)
		go func(res *sectionResult, argv []string) {
			defer wg.Done()
			r := app.Runner() // one per goroutine: a Runner caches lookups
			r.Stdout, r.Stderr = &res.stdout, &res.stderr
			err := r.Run(app.Context(), plan.Plan{Steps: []plan.Step{plan.Command{Argv: argv}}})
			var se *exec.StepError
			if errors.As(err, &se) {
				err = se.Err
			}
			res.err = err
		}(&results[i], argv)
	}
	wg.Wait()
	unlock()

	// The echoed commands and their diagnostics first, then the sections.
	for i := range results {
		if _, err := io.Copy(app.Env.Stderr, &results[i].stderr); err != nil {
			return err
		}
	}
	var failed []string
	for i, s := range sections {
		if err := results[i].err; err != nil {
			failed = append(failed, s.name+" ("+err.Error()+")")
		}
	}
	if c.JSON {
		err = writeShowJSON(app.Env.Stdout, sections, results)
	} else {
		err = writeShowText(app.Env.Stdout, sections, results)
	}
	if err != nil {
		return err
	}
	if len(failed) > 0 {
		return fmt.Errorf("netns show %s: failed: %s", c.Name, strings.Join(failed, "; "))
	}
	return nil
}

func writeShowText(w io.Writer, sections []showSection, results []sectionResult) error {
	var b bytes.Buffer
	for i, s := range sections {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "=== %s ===\n", s.name)
		out := results[i].stdout.Bytes()
		b.Write(out)
		if len(out) > 0 && out[len(out)-1] != '\n' {
			b.WriteByte('\n')
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

// writeShowJSON writes {"SECTION": VALUE, ...} on one line, sections in
// canonical order. A failed section is null.
func writeShowJSON(w io.Writer, sections []showSection, results []sectionResult) error {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, s := range sections {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(s.name)
		b.Write(k)
		b.WriteByte(':')
		v, err := sectionJSON(s, &results[i])
		if err != nil {
			return fmt.Errorf("netns show: section %s: %w", s.name, err)
		}
		b.Write(v)
	}
	b.WriteString("}\n")
	_, err := w.Write(b.Bytes())
	return err
}

func sectionJSON(s showSection, res *sectionResult) ([]byte, error) {
	if res.err != nil {
		return []byte("null"), nil
	}
	out := bytes.TrimSpace(res.stdout.Bytes())
	if s.parse != nil {
		v, err := s.parse(out)
		if err != nil {
			return nil, err
		}
		return json.Marshal(v)
	}
	if len(out) == 0 {
		return []byte("[]"), nil
	}
	if !json.Valid(out) {
		return nil, fmt.Errorf("the command did not print valid JSON")
	}
	var c bytes.Buffer
	if err := json.Compact(&c, out); err != nil {
		return nil, err
	}
	return c.Bytes(), nil
}
