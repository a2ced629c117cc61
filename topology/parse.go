package topology

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// Error is one problem in a lab file, at a position.
type Error struct {
	// File is the file's name as given.
	File string
	// Line and Column are 1-based; 0 when the problem has no position.
	Line, Column int
	// Msg says what is wrong and what is allowed.
	Msg string
	// Snippet is the offending part of the file, with line numbers and a
	// caret, or "".
	Snippet string
}

// Error implements error: "FILE:LINE:COLUMN: MSG", then the snippet.
func (e *Error) Error() string {
	s := e.File
	if e.Line > 0 {
		s += fmt.Sprintf(":%d:%d", e.Line, e.Column)
	}
	s += ": " + e.Msg
	if e.Snippet != "" {
		s += "\n" + e.Snippet
	}
	return s
}

// Errors are all the problems found in a file, in file order.
type Errors []*Error

// Error implements error: one entry after the other.
func (es Errors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// source is a parsed file, kept to find positions of values. After the
// fast path (fastParse) file is nil until an error needs a position:
// then data is parsed by the library, once.
type source struct {
	name string
	data []byte
	file *ast.File
}

// ast returns the file's syntax tree, parsing it if needed; nil if the
// library cannot (it parsed the same bytes before, so it can).
func (s *source) ast() (file *ast.File) {
	if s.file != nil || s.data == nil {
		return s.file
	}
	defer func() {
		if recover() != nil {
			file = nil
		}
	}()
	f, err := parser.ParseBytes(s.data, 0)
	if err != nil {
		return nil
	}
	s.file, s.data = f, nil
	return f
}

// Parse decodes a lab file strictly (unknown keys, duplicate keys and
// wrong types are errors) without checking its meaning: see Resolve, or
// Load for both. name is used in error messages.
func Parse(name string, data []byte) (*File, error) {
	f, _, err := parse(name, data)
	return f, err
}

func parse(name string, data []byte) (f *File, src *source, err error) {
	defer func() {
		// The YAML library must not take npte down on a hostile file.
		if r := recover(); r != nil {
			f, src, err = nil, nil, Errors{{File: name, Msg: fmt.Sprintf("cannot parse the file: %v", r)}}
		}
	}()
	if f, ok := fastParse(data); ok {
		return f, &source{name: name, data: data}, nil
	}
	return parseLibrary(name, data)
}

// parseLibrary is parse by the YAML library alone: every file, every
// error with its position.
func parseLibrary(name string, data []byte) (f *File, src *source, err error) {
	defer func() {
		// The YAML library must not take npte down on a hostile file.
		if r := recover(); r != nil {
			f, src, err = nil, nil, Errors{{File: name, Msg: fmt.Sprintf("cannot parse the file: %v", r)}}
		}
	}()
	file, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, nil, yamlError(name, err)
	}
	if len(file.Docs) != 1 || file.Docs[0].Body == nil {
		if len(file.Docs) > 1 {
			return nil, nil, errorAt(name, file.Docs[1].Body, "a lab file holds one YAML document, not several")
		}
		return nil, nil, Errors{{File: name, Msg: "the file is empty: a lab file needs at least name and nodes"}}
	}
	body := file.Docs[0].Body
	if body.Type() != ast.MappingType {
		return nil, nil, errorAt(name, body, "a lab file is a mapping (name:, nodes:, links:, ...), not a "+strings.ToLower(body.Type().String()))
	}
	f = new(File)
	if err := yaml.NodeToValue(body, f, yaml.DisallowUnknownField()); err != nil {
		return nil, nil, yamlError(name, err)
	}
	return f, &source{name: name, file: file}, nil
}

func yamlError(name string, err error) error {
	var pe *posError
	if errors.As(err, &pe) && pe.tk != nil {
		return Errors{{File: name, Line: pe.tk.Position.Line, Column: pe.tk.Position.Column, Msg: pe.msg, Snippet: snippet(pe.tk)}}
	}
	var ye yaml.Error
	if errors.As(err, &ye) && ye.GetToken() != nil {
		tk := ye.GetToken()
		return Errors{{File: name, Line: tk.Position.Line, Column: tk.Position.Column,
			Msg: cleanMsg(ye.GetMessage()), Snippet: snippet(tk)}}
	}
	return Errors{{File: name, Msg: cleanMsg(err.Error())}}
}

func cleanMsg(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, "\n"); i >= 0 {
		s = s[:i]
	}
	return s
}

func snippet(tk *token.Token) string {
	if tk == nil {
		return ""
	}
	s := yaml.FormatErrorWithToken("", tk, false, true)
	// The first line is "[L:C] " (the empty message); the rest is the
	// annotated source.
	i := strings.Index(s, "\n")
	if i < 0 {
		return ""
	}
	// At most three lines before the offending one and two after it (a
	// token can span a whole file).
	lines := strings.Split(strings.TrimRight(s[i+1:], "\n"), "\n")
	at := 0
	for j, l := range lines {
		if strings.HasPrefix(l, ">") {
			at = j
			break
		}
	}
	lo, hi := max(0, at-3), min(len(lines), at+4) // the caret line, then two
	return strings.Join(lines[lo:hi], "\n")
}

func errorAt(name string, n ast.Node, msg string) error {
	e := &Error{File: name, Msg: msg}
	if n != nil && n.GetToken() != nil {
		tk := n.GetToken()
		e.Line, e.Column, e.Snippet = tk.Position.Line, tk.Position.Column, snippet(tk)
	}
	return Errors{e}
}

// at returns an error at the value found by the path (keys and indexes
// from the document's root), or at the closest ancestor that exists.
func (s *source) at(msg string, path ...any) *Error {
	e := &Error{Msg: msg}
	if s == nil {
		return e
	}
	e.File = s.name
	file := s.ast()
	if file == nil {
		return e
	}
	for len(path) >= 0 {
		b := (&yaml.PathBuilder{}).Root()
		for _, p := range path {
			switch p := p.(type) {
			case string:
				b = b.Child(p)
			case int:
				b = b.Index(uint(p))
			}
		}
		if n, err := b.Build().FilterFile(file); err == nil && n != nil && n.GetToken() != nil {
			tk := n.GetToken()
			e.Line, e.Column, e.Snippet = tk.Position.Line, tk.Position.Column, snippet(tk)
			return e
		}
		if len(path) == 0 {
			break
		}
		path = path[:len(path)-1]
	}
	return e
}

// UnmarshalYAML reads a link as [A, B] or as a mapping.
func (l *Link) UnmarshalYAML(n ast.Node) error {
	if n.Type() == ast.SequenceType {
		var eps []string
		if err := yaml.NodeToValue(n, &eps, yaml.DisallowUnknownField()); err != nil {
			return err
		}
		*l = Link{Endpoints: eps, short: true}
		return nil
	}
	if n.Type() != ast.MappingType {
		return errors.New("a link is [A, B] or a mapping with endpoints: [A, B]")
	}
	type plain Link
	var p plain
	if err := yaml.NodeToValue(n, &p, yaml.DisallowUnknownField()); err != nil {
		return err
	}
	*l = Link(p)
	return nil
}

// UnmarshalYAML reads one address or a list of them.
func (a *Addrs) UnmarshalYAML(n ast.Node) error {
	if n.Type() == ast.SequenceType {
		var list []string
		if err := yaml.NodeToValue(n, &list); err != nil {
			return err
		}
		*a = list
		return nil
	}
	if _, ok := n.(ast.ScalarNode); !ok || n.Type() == ast.NullType {
		return errors.New("addresses of a node are one CIDR or a list of them")
	}
	*a = Addrs{n.GetToken().Value}
	return nil
}

// sortedKeys returns the keys of m, sorted.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
