package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

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
pids as an array of numbers; and "errors", an object naming each failed section. Every
requested section is an array, [] when its command failed. A section whose command fails is
reported on stderr (exit 1); the others are printed. Text output escapes control characters
(\x1b, \u009b, ...) so that no name can send escape sequences to the terminal; JSON escapes
them as JSON does.

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

// Socket is one line of `ss -H -tunlp` in netns show --json. Every key
// is always present; Process is "" for a socket no process holds.
type Socket struct {
	Netid   string `json:"netid"`
	State   string `json:"state"`
	RecvQ   int64  `json:"recv_q"`
	SendQ   int64  `json:"send_q"`
	Local   string `json:"local"`
	Peer    string `json:"peer"`
	Process string `json:"process"`
}

// ssHead matches the six columns that start a socket of `ss -H -tunl`.
// The process column after them (users:((...)) with -p) holds process
// names as the kernel keeps them, raw: a name may carry a newline, an
// escape sequence, quotes or "))". A name cannot fake the head of another
// socket: "))", a newline and the shortest head ("udp", a state of at
// least four capitals, two numbers and two addresses: 13 bytes) take more
// than a name's 15 bytes.
var ssHead = regexp.MustCompile(`^[ \t]*(tcp|udp)[ \t]+([A-Z][A-Z0-9-]{3,})[ \t]+(\d+)[ \t]+(\d+)[ \t]+(\S+)[ \t]+(\S+)`)

var ssUsers = regexp.MustCompile(`^[ \t]+users:\(\(`)

func parseSockets(out []byte) (any, error) {
	socks := []Socket{}
	text := strings.Trim(string(out), "\n")
	bad := func(rest string) error {
		if len(rest) > 60 {
			rest = rest[:60]
		}
		return fmt.Errorf("unexpected ss output %q", rest)
	}
	// recordEnd reports whether rest, after a socket, is the end of the
	// output or a newline and the next socket's head.
	recordEnd := func(rest string) bool {
		rest = strings.TrimLeft(rest, " \t")
		return rest == "" || rest[0] == '\n' && ssHead.MatchString(rest[1:])
	}
	for text != "" {
		m := ssHead.FindStringSubmatch(text)
		if m == nil {
			return nil, bad(text)
		}
		rq, err1 := strconv.ParseInt(m[3], 10, 64)
		sq, err2 := strconv.ParseInt(m[4], 10, 64)
		if err1 != nil || err2 != nil {
			return nil, bad(text)
		}
		sock := Socket{Netid: m[1], State: m[2], RecvQ: rq, SendQ: sq, Local: m[5], Peer: m[6]}
		rest := text[len(m[0]):]
		switch {
		case recordEnd(rest):
		case ssUsers.MatchString(rest):
			start := len(rest) - len(strings.TrimLeft(rest, " \t"))
			end := -1
			for i := start; ; {
				j := strings.Index(rest[i:], "))")
				if j < 0 {
					break
				}
				if recordEnd(rest[i+j+2:]) {
					end = i + j + 2
					break
				}
				i += j + 1
			}
			if end < 0 {
				return nil, bad(text)
			}
			sock.Process, rest = rest[start:end], rest[end:]
		default:
			return nil, bad(text)
		}
		socks = append(socks, sock)
		text = strings.TrimLeft(strings.TrimLeft(rest, " \t"), "\n")
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
	reads := make([]exec.Read, len(sections))
	for i, s := range sections {
		reads[i].Argv = s.text(c.Name)
		if c.JSON {
			reads[i].Argv = s.json(c.Name)
		}
	}
	runner := app.Runner()
	results, err := runner.Capture(app.Context(), []plan.Step{plan.RequireManaged{Name: c.Name}}, reads...)
	if err != nil {
		return err
	}
	unlock()

	// The echoed commands and their diagnostics first, then the sections.
	for i := range results {
		runner.Echo(reads[i].Argv)
		if _, err := app.Env.Stderr.Write(results[i].Stderr); err != nil {
			return err
		}
	}
	var failed []string
	for i, s := range sections {
		if err := results[i].Err; err != nil {
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

func writeShowText(w io.Writer, sections []showSection, results []exec.Captured) error {
	var b bytes.Buffer
	for i, s := range sections {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "=== %s ===\n", s.name)
		out := EscapeControls(results[i].Stdout)
		b.Write(out)
		if len(out) > 0 && out[len(out)-1] != '\n' {
			b.WriteByte('\n')
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

// writeShowJSON writes {"SECTION": VALUE, ..., "errors": {...}} on one
// line, sections in canonical order. Every requested section is present
// and is an array ([] when its command failed or printed nothing);
// "errors" is always present and maps each failed section to why.
func writeShowJSON(w io.Writer, sections []showSection, results []exec.Captured) error {
	var b bytes.Buffer
	errs := map[string]string{}
	b.WriteByte('{')
	for i, s := range sections {
		k, _ := json.Marshal(s.name)
		b.Write(k)
		b.WriteByte(':')
		v, err := sectionJSON(s, &results[i])
		if err != nil {
			errs[s.name] = err.Error()
			v = []byte("[]")
		} else if results[i].Err != nil {
			errs[s.name] = results[i].Err.Error()
		}
		b.Write(v)
		b.WriteByte(',')
	}
	e, _ := json.Marshal(errs)
	b.WriteString(`"errors":`)
	b.Write(e)
	b.WriteString("}\n")
	_, err := w.Write(b.Bytes())
	return err
}

// EscapeControls makes command output safe for a terminal: every control
// character but newline and tab (C0, DEL, C1 such as the 8-bit CSI) and
// every byte that is not UTF-8 is written as \xNN or \uNNNN, so that a
// process or interface name cannot send escape sequences.
func EscapeControls(b []byte) []byte {
	var out []byte
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			out = append(out, fmt.Sprintf(`\x%02x`, b[i])...)
		case r == '\n' || r == '\t':
			out = append(out, b[i])
		case r < 0x20 || r == 0x7f:
			out = append(out, fmt.Sprintf(`\x%02x`, r)...)
		case unicode.IsControl(r) || r == 0x2028 || r == 0x2029:
			out = append(out, fmt.Sprintf(`\u%04x`, r)...)
		default:
			out = append(out, b[i:i+n]...)
		}
		i += n
	}
	return out
}

func sectionJSON(s showSection, res *exec.Captured) ([]byte, error) {
	if res.Err != nil {
		return []byte("[]"), nil
	}
	out := bytes.TrimSpace(res.Stdout)
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
