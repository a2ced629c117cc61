package plan

import (
	"strings"

	"github.com/npte/npte/shell"
)

// The refusals of the guard steps: each message is written here once and
// printed, after "npte: ", by the rendered script (echo ... >&2; exit 2)
// and by a live run (exit 2) alike. Paths come from the Layout the plan is
// rendered or run with.

// TypeRefusal is Lock's refusal of a state directory that is a symbolic
// link or not a directory, or a lock that is not a regular file.
func (Lock) TypeRefusal(l shell.Layout) string {
	return l.Root + ", a directory below it or its lock is a symbolic link or not a directory (the lock: not a regular file); refusing to use it"
}

// OwnerRefusal is Lock's refusal of a state directory or lock not owned by
// owner, a directory writable by group or others, or a lock whose mode is
// not 0600.
func (Lock) OwnerRefusal(l shell.Layout, owner int) string {
	return l.Root + ", a directory below it or its lock is not owned by " + shell.OwnerName(owner) +
		", or is writable by group or others, or the lock has a mode other than 0600; refusing to use it (remove a bad lock when no npte runs)"
}

// Refusal is the message when Name has no marker.
func (s RequireManaged) Refusal(l shell.Layout) string { return notManaged(l, s.Name) }

// Refusal is the message when Name has neither a marker nor an intent
// record.
func (s RequireOwned) Refusal(l shell.Layout) string { return notManaged(l, s.Name) }

func notManaged(l shell.Layout, name string) string {
	return name + ": not managed by npte (no marker " + l.Marker(name) + ")"
}

// RecordsRefusal is the refusal of RequireOwned and IfOwned when the
// marker or the intent record of name exists but is not a regular file.
func RecordsRefusal(l shell.Layout, name string) string {
	return "a marker or intent record of npte is not a regular file (a symbolic link or a directory); refusing to follow it: " + l.Marker(name) + " " + l.Intent(name)
}

// Skipped is what IfOwned prints when Name is not npte's.
func (s IfOwned) Skipped() string { return s.Name + ": not managed by npte, skipped" }

// RunNetnsRefusal is RequireAbsent's refusal of a /run/netns that exists
// but is not a directory.
func (RequireAbsent) RunNetnsRefusal(l shell.Layout) string {
	return l.RunNetns + " is not a directory; refusing to create a namespace"
}

// Refusal is the message when Name is taken.
func (s RequireAbsent) Refusal() string {
	return s.Name + ": already exists (a namespace, npte marker or intent record has that name)"
}

// Refusal is the message when one of Paths is a symbolic link.
func (s RequireNoSymlink) Refusal() string {
	return "a path npte writes is a symbolic link; refusing to follow it: " + strings.Join(s.Paths, " ")
}

// Refusal is the message for a listed line other than a default route,
// split as sh's `read -r a b c` splits it: a and b are its first two
// words, c the rest of the line. The script prints the same words with
// printf '%s %s %s %s\n' 'npte: MESSAGE:' "$a" "$b" "$c".
func (s RequireNoRoute) Refusal(a, b, c string) string {
	return s.Message + ": " + a + " " + b + " " + c
}

// GatewayDirRefusal is the refusal of a gateway record directory that is
// a symbolic link or not a directory (RequireNoGatewayRecord,
// WriteGatewayRecord).
func GatewayDirRefusal(l shell.Layout) string {
	return l.GatewayDir() + " is a symbolic link or not a directory; refusing to use it"
}

// Refusal is the message when NS has a gateway record.
func (s RequireNoGatewayRecord) Refusal(l shell.Layout) string {
	return s.NS + ": npte has a record of a gateway of " + s.NS + " (" + l.GatewayDir() + "); remove what is left of it first: npte gateway destroy " + s.NS
}

// Refusal is the message when the record directory or a record path of
// NS has the wrong type. Live runs print it too when IfGatewayRecord or
// RemoveGatewayRecord find an unsafe record path.
func (s RequireSafeGatewayRecords) Refusal(l shell.Layout) string {
	return "a gateway record path of npte is a symbolic link or of the wrong type; refusing to follow it: " + l.GatewayDir() + " " + strings.Join(l.GatewayRecords(s.NS), " ")
}
