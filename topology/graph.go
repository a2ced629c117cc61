package topology

import (
	"fmt"
	"strconv"
	"strings"
)

// Graph formats.
const (
	FormatDOT     = "dot"
	FormatMermaid = "mermaid"
)

func addrList(e End) string {
	var s []string
	for _, a := range e.Addrs {
		s = append(s, a.String())
	}
	return strings.Join(s, " ")
}

func endLabel(e End) string {
	s := e.Iface
	if a := addrList(e); a != "" {
		s += " " + a
	}
	if e.Shape != "" {
		s += " [" + e.Shape + "]"
	}
	return s
}

// Graph renders the lab as a graph in format (FormatDOT or FormatMermaid):
// a vertex per node, an edge per link labelled with each end's interface,
// addresses and egress shaping, and the uplink as an edge to the host.
func Graph(l *Lab, format string) (string, error) {
	var b strings.Builder
	switch format {
	case FormatDOT, "":
		fmt.Fprintf(&b, "graph %s {\n", strconv.Quote(l.Name))
		b.WriteString("  node [shape=box];\n")
		for _, n := range l.Nodes {
			fmt.Fprintf(&b, "  %s;\n", strconv.Quote(n.Name))
		}
		for _, lk := range l.Links {
			fmt.Fprintf(&b, "  %s -- %s [taillabel=%s, headlabel=%s, label=%s];\n",
				strconv.Quote(lk.A.Node), strconv.Quote(lk.B.Node),
				strconv.Quote(endLabel(lk.A)), strconv.Quote(endLabel(lk.B)), strconv.Quote(lk.Kind))
		}
		if u := l.Uplink; u != nil {
			b.WriteString("  \"host\" [shape=ellipse, label=\"host\"];\n")
			fmt.Fprintf(&b, "  %s -- \"host\" [label=%s];\n", strconv.Quote(u.Node), strconv.Quote("uplink "+u.Subnet.String()+" via "+u.Iface))
		}
		b.WriteString("}\n")
	case FormatMermaid:
		b.WriteString("graph LR\n")
		for _, n := range l.Nodes {
			fmt.Fprintf(&b, "  %s[%s]\n", n.Name, n.Name)
		}
		for _, lk := range l.Links {
			fmt.Fprintf(&b, "  %s ---|%s| %s\n", lk.A.Node, mermaidText(endLabel(lk.A)+" / "+endLabel(lk.B)), lk.B.Node)
		}
		if u := l.Uplink; u != nil {
			b.WriteString("  npte_host((host))\n")
			fmt.Fprintf(&b, "  %s ---|%s| npte_host\n", u.Node, mermaidText("uplink "+u.Subnet.String()+" via "+u.Iface))
		}
	default:
		return "", fmt.Errorf("graph format %q: must be dot or mermaid", format)
	}
	return b.String(), nil
}

// mermaidText quotes an edge label for Mermaid: double quotes, with the
// characters Mermaid would read as syntax written as entities.
func mermaidText(s string) string {
	r := strings.NewReplacer(`"`, "#quot;", "|", "#124;", "<", "#lt;", ">", "#gt;")
	return `"` + r.Replace(s) + `"`
}
