package topology

import (
	"strings"
)

// fastParse decodes the plain form most lab files are written in, and
// the generated large ones always are, without the YAML library: block
// mappings and sequences, one-line flow mappings and sequences, plain
// scalars that can only be strings, quoted scalars without escapes, and
// comments. It returns ok=false for anything else (and for every
// mistake: an unknown or duplicate key, a wrong type, a null), and parse
// then takes the YAML library's path, which gives the same File
// (TestFastParseIsParse, FuzzFastParse) or the precise error. It is
// several times faster than the library's parse and decode.
func fastParse(data []byte) (f *File, ok bool) {
	p := fastParser{}
	if !p.split(data) || len(p.lines) == 0 || p.lines[0].indent != 0 {
		return nil, false
	}
	root, ok := p.blockMap(0)
	if !ok || p.i != len(p.lines) {
		return nil, false
	}
	return decodeFile(root)
}

// fnode is a value of the plain form: a mapping (keys and vals), a
// sequence (items) or a scalar (str).
type fnode struct {
	kind  byte // 'm', 's' or 'v'
	keys  []string
	vals  []*fnode
	items []*fnode
	str   string
	// seen holds the keys of a large mapping, for has.
	seen map[string]bool
}

// fline is one line with content: its indentation and its text, without
// the indentation, a trailing comment or trailing spaces.
type fline struct {
	indent int
	text   string
}

type fastParser struct {
	lines []fline
	i     int
	slab  fslab
}

// fslab hands out the nodes of flow values, and room for the items of
// flow sequences, from chunks: a 1000-node file has thousands of them.
type fslab struct {
	nodes []fnode
	ptrs  []*fnode
}

// node returns a new value node.
func (a *fslab) node(kind byte, str string) *fnode {
	if len(a.nodes) == cap(a.nodes) {
		a.nodes = make([]fnode, 0, 256)
	}
	a.nodes = append(a.nodes, fnode{kind: kind, str: str})
	return &a.nodes[len(a.nodes)-1]
}

// items returns an empty slice with room for two items (a link's
// endpoints); a longer sequence grows it as usual.
func (a *fslab) items() []*fnode {
	if len(a.ptrs) < 2 {
		a.ptrs = make([]*fnode, 512)
	}
	s := a.ptrs[:0:2]
	a.ptrs = a.ptrs[2:]
	return s
}

// split cuts data into lines, dropping blank and comment lines. Tabs,
// carriage returns, other control characters and non-ASCII bytes are
// left to the library.
func (p *fastParser) split(data []byte) bool {
	s := string(data)
	p.lines = make([]fline, 0, strings.Count(s, "\n")+1)
	for len(s) > 0 {
		line := s
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			line, s = s[:i], s[i+1:]
		} else {
			s = ""
		}
		indent := 0
		for indent < len(line) && line[indent] == ' ' {
			indent++
		}
		text := line[indent:]
		// Cut a comment: '#' after a space, outside quotes.
		quote := byte(0)
		for j := 0; j < len(text); j++ {
			c := text[j]
			if c < ' ' || c > '~' {
				return false
			}
			switch {
			case quote != 0:
				if c == quote {
					quote = 0
				}
			case c == '\'' || c == '"':
				quote = c
			case c == '#' && (j == 0 || text[j-1] == ' '):
				text = text[:j]
			}
		}
		text = strings.TrimRight(text, " ")
		if text == "" {
			continue
		}
		p.lines = append(p.lines, fline{indent, text})
	}
	return true
}

func isSeqLine(text string) bool { return strings.HasPrefix(text, "- ") }

// blockMap reads a block mapping whose keys are at column indent.
func (p *fastParser) blockMap(indent int) (*fnode, bool) {
	m := &fnode{kind: 'm'}
	for p.i < len(p.lines) {
		ln := p.lines[p.i]
		if ln.indent < indent {
			break
		}
		if ln.indent > indent || isSeqLine(ln.text) {
			return nil, false
		}
		key, rest, ok := splitKey(ln.text)
		if !ok || m.has(key) {
			return nil, false
		}
		p.i++
		var v *fnode
		switch {
		case rest != "":
			if v, ok = p.inline(rest); !ok {
				return nil, false
			}
		case p.i < len(p.lines) && p.lines[p.i].indent > indent:
			next := p.lines[p.i]
			if isSeqLine(next.text) {
				v, ok = p.blockSeq(next.indent)
			} else {
				v, ok = p.blockMap(next.indent)
			}
			if !ok {
				return nil, false
			}
		case p.i < len(p.lines) && p.lines[p.i].indent == indent && isSeqLine(p.lines[p.i].text):
			if v, ok = p.blockSeq(indent); !ok {
				return nil, false
			}
		default:
			return nil, false // a null
		}
		m.keys, m.vals = append(m.keys, key), append(m.vals, v)
	}
	return m, true
}

// blockSeq reads a block sequence whose dashes are at column indent.
func (p *fastParser) blockSeq(indent int) (*fnode, bool) {
	s := &fnode{kind: 's'}
	for p.i < len(p.lines) {
		ln := p.lines[p.i]
		if ln.indent < indent || ln.indent == indent && !isSeqLine(ln.text) {
			break
		}
		if ln.indent > indent {
			return nil, false
		}
		rest := strings.TrimLeft(ln.text[2:], " ")
		col := indent + len(ln.text) - len(rest)
		if rest == "" || isSeqLine(rest) || rest == "-" {
			return nil, false
		}
		var v *fnode
		var ok bool
		if _, _, isKey := splitKey(rest); isKey {
			// "- key: value": a block mapping at the key's column.
			p.lines[p.i] = fline{col, rest}
			v, ok = p.blockMap(col)
		} else {
			v, ok = p.inline(rest)
			p.i++
		}
		if !ok {
			return nil, false
		}
		s.items = append(s.items, v)
	}
	return s, true
}

// has reports whether the mapping m has key already. The caller then
// appends it to m.keys.
func (m *fnode) has(key string) bool {
	if len(m.keys) < 16 {
		for _, k := range m.keys {
			if k == key {
				return true
			}
		}
		return false
	}
	if m.seen == nil {
		m.seen = make(map[string]bool, 2*len(m.keys))
		for _, k := range m.keys {
			m.seen[k] = true
		}
	}
	if m.seen[key] {
		return true
	}
	m.seen[key] = true
	return false
}

// splitKey splits "KEY: REST" or "KEY:" with a plain KEY.
func splitKey(text string) (key, rest string, ok bool) {
	n := plainLen(text)
	if n == 0 || n >= len(text) || text[n] != ':' || n+1 < len(text) && text[n+1] != ' ' {
		return "", "", false
	}
	if !plainString(text[:n]) {
		return "", "", false
	}
	return text[:n], strings.TrimLeft(text[n+1:], " "), true
}

// plainLen is the length of the plain scalar at the start of s: the run
// of characters such scalars may hold here.
func plainLen(s string) int {
	i := 0
	for i < len(s) {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '/' || c == '+' || c == '-' || c == '>' && i > 0 {
			i++
			continue
		}
		break
	}
	return i
}

// plainString reports whether the plain scalar s is a string to YAML for
// sure: it starts with a letter and is no boolean or null, or it starts
// with a digit and holds a '/' or two dots (an address, a prefix), which
// no number, date or time does.
func plainString(s string) bool {
	if s == "" {
		return false
	}
	c := s[0]
	switch {
	case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
		switch strings.ToLower(s) {
		case "true", "false", "yes", "no", "on", "off", "y", "n", "null":
			return false
		}
		return true
	case '0' <= c && c <= '9':
		return strings.Contains(s, "/") || strings.Count(s, ".") >= 2
	}
	return false
}

// inline reads a whole one-line value: a flow collection or a scalar.
func (p *fastParser) inline(s string) (*fnode, bool) {
	fl := flowReader{s: s, a: &p.slab}
	v, ok := fl.value()
	return v, ok && fl.i == len(s)
}

type flowReader struct {
	s string
	i int
	a *fslab
}

func (r *flowReader) spaces() {
	for r.i < len(r.s) && r.s[r.i] == ' ' {
		r.i++
	}
}

func (r *flowReader) value() (*fnode, bool) {
	if r.i >= len(r.s) {
		return nil, false
	}
	switch c := r.s[r.i]; c {
	case '{':
		return r.collection('}')
	case '[':
		return r.collection(']')
	case '\'', '"':
		j := strings.IndexByte(r.s[r.i+1:], c)
		if j < 0 {
			return nil, false
		}
		str := r.s[r.i+1 : r.i+1+j]
		if strings.ContainsAny(str, `\'"`) {
			return nil, false
		}
		r.i += j + 2
		return r.a.node('v', str), true
	}
	n := plainLen(r.s[r.i:])
	str := r.s[r.i : r.i+n]
	if !plainString(str) {
		return nil, false
	}
	r.i += n
	return r.a.node('v', str), true
}

// collection reads a flow mapping ({k: v, ...}) or sequence ([v, ...]).
func (r *flowReader) collection(end byte) (*fnode, bool) {
	n := r.a.node('s', "")
	if end == '}' {
		n.kind = 'm'
	} else {
		n.items = r.a.items()
	}
	r.i++ // the opening bracket
	r.spaces()
	if r.i < len(r.s) && r.s[r.i] == end {
		r.i++
		return n, true
	}
	for {
		if n.kind == 'm' {
			k := plainLen(r.s[r.i:])
			key := r.s[r.i : r.i+k]
			r.i += k
			if !plainString(key) || n.has(key) || r.i+1 >= len(r.s) || r.s[r.i] != ':' || r.s[r.i+1] != ' ' {
				return nil, false
			}
			r.i += 2
			r.spaces()
			v, ok := r.value()
			if !ok {
				return nil, false
			}
			n.keys, n.vals = append(n.keys, key), append(n.vals, v)
		} else {
			v, ok := r.value()
			if !ok {
				return nil, false
			}
			n.items = append(n.items, v)
		}
		r.spaces()
		if r.i >= len(r.s) {
			return nil, false
		}
		switch r.s[r.i] {
		case end:
			r.i++
			return n, true
		case ',':
			r.i++
			r.spaces()
			if r.i >= len(r.s) || r.s[r.i] == end || r.s[r.i] == ',' {
				return nil, false
			}
		default:
			return nil, false
		}
	}
}

// The decoding of the plain form into a File: exactly the fields and
// types the library fills; anything else is not ok.

func (n *fnode) scalar() (string, bool) { return n.str, n.kind == 'v' }

func (n *fnode) strings() ([]string, bool) {
	if n.kind != 's' {
		return nil, false
	}
	out := make([]string, len(n.items))
	for i, it := range n.items {
		s, ok := it.scalar()
		if !ok {
			return nil, false
		}
		out[i] = s
	}
	return out, true
}

// fields calls set for each key of the mapping n, in order.
func (n *fnode) fields(set func(k string, v *fnode) bool) bool {
	if n.kind != 'm' {
		return false
	}
	for i, k := range n.keys {
		if !set(k, n.vals[i]) {
			return false
		}
	}
	return true
}

func decodeFile(root *fnode) (*File, bool) {
	f := &File{}
	ok := root.fields(func(k string, v *fnode) (ok bool) {
		switch k {
		case "name":
			f.Name, ok = v.scalar()
		case "routes":
			f.Routes, ok = v.scalar()
		case "addressing":
			a := &Addressing{}
			f.Addressing = a
			ok = v.fields(func(k string, v *fnode) (ok bool) {
				switch k {
				case "ipv4":
					a.IPv4, ok = v.scalar()
				case "ipv6":
					a.IPv6, ok = v.scalar()
				}
				return ok
			})
		case "nodes":
			if v.kind != 'm' {
				return false
			}
			f.Nodes = make(map[string]*Node, len(v.keys))
			nodes := make([]Node, len(v.keys)) // one allocation for all
			ok = v.fields(func(name string, v *fnode) bool {
				nd := &nodes[0]
				nodes = nodes[1:]
				f.Nodes[name] = nd
				return v.fields(func(k string, v *fnode) (ok bool) {
					switch k {
					case "dns":
						nd.DNS, ok = v.strings()
					case "host":
						nd.Host, ok = v.scalar()
					}
					return ok
				})
			})
		case "links":
			if v.kind != 's' {
				return false
			}
			f.Links = make([]Link, len(v.items))
			for i, it := range v.items {
				if f.Links[i], ok = decodeLink(it); !ok {
					return false
				}
			}
		case "static":
			if v.kind != 's' {
				return false
			}
			f.Static = make([]Route, len(v.items))
			for i, it := range v.items {
				rt := &f.Static[i]
				if !it.fields(func(k string, v *fnode) (ok bool) {
					switch k {
					case "node":
						rt.Node, ok = v.scalar()
					case "to":
						rt.To, ok = v.scalar()
					case "via":
						rt.Via, ok = v.scalar()
					}
					return ok
				}) {
					return false
				}
			}
			ok = true
		case "uplink":
			u := &Uplink{}
			f.Uplink = u
			ok = v.fields(func(k string, v *fnode) (ok bool) {
				switch k {
				case "node":
					u.Node, ok = v.scalar()
				case "iface":
					u.Iface, ok = v.scalar()
				case "subnet":
					u.Subnet, ok = v.scalar()
				case "subnet6":
					u.Subnet6, ok = v.scalar()
				case "firewall":
					u.Firewall, ok = v.scalar()
				}
				return ok
			})
		}
		return ok
	})
	return f, ok
}

// decodeLink reads [A, B] or a mapping without shape: (shapings take the
// library's path).
func decodeLink(n *fnode) (Link, bool) {
	if n.kind == 's' {
		eps, ok := n.strings()
		return Link{Endpoints: eps, short: true}, ok
	}
	var l Link
	ok := n.fields(func(k string, v *fnode) (ok bool) {
		switch k {
		case "endpoints":
			l.Endpoints, ok = v.strings()
		case "kind":
			l.Kind, ok = v.scalar()
		case "ifaces":
			if v.kind != 'm' {
				return false
			}
			l.Ifaces = make(map[string]string, len(v.keys))
			ok = v.fields(func(k string, v *fnode) (ok bool) {
				l.Ifaces[k], ok = v.scalar()
				return ok
			})
		case "addresses":
			if v.kind != 'm' {
				return false
			}
			l.Addresses = make(map[string]Addrs, len(v.keys))
			ok = v.fields(func(k string, v *fnode) bool {
				if s, isScalar := v.scalar(); isScalar {
					l.Addresses[k] = Addrs{s}
					return true
				}
				list, ok := v.strings()
				l.Addresses[k] = list
				return ok
			})
		}
		return ok
	})
	return l, ok
}
