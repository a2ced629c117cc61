package plan

import (
	"strconv"
	"strings"
)

// Batch runs many commands of one program in one process: `ip -batch -`
// on the host, `ip -n NS -batch -` or `tc -n NS -batch -` inside a
// namespace, with one line per command on standard input. The batching
// pass (package batch) builds it from Command steps; each line keeps the
// steps it stands for, so that a failure names the original step, what
// was already done (the steps of the lines before it) and the cleanup
// command, as for single steps. iproute2 stops at the first failing line
// and reports it on stderr as "Command failed -:LINE".
//
// Renders as:
//
//	ARGV <<'NPTE_EOF' || exit 1
//	LINE
//	...
//	NPTE_EOF
type Batch struct {
	// Argv is the program and its options, ending with "-batch", "-".
	Argv []string
	// Lines are the commands, in order.
	Lines []BatchLine
}

// BatchLine is one line of a Batch.
type BatchLine struct {
	// Args are the words of the line (the program's argv after Batch's
	// options); a word holding a space or a tab is written in double
	// quotes. BatchWord says which words a line can carry.
	Args []string
	// Steps are the steps the line stands for (usually one Command; a
	// line may merge a tolerated command into the one before it).
	Steps []Step
}

// BatchWord returns w as iproute2's batch parser (makeargs) reads it back
// as one word, and false when it cannot: an empty word, or one holding a
// quote, a backslash, '#' (a comment) or a line break. Words with a space
// or a tab are double-quoted.
func BatchWord(w string) (string, bool) {
	if w == "" {
		return "", false
	}
	// The characters that matter are below 64, but for the backslash:
	// one bit each in a mask, so the loop is a shift and two ands.
	const bad = 1<<'"' | 1<<'\'' | 1<<'#' | 1<<'\n' | 1<<'\r' | 1<<0
	const blanks = 1<<' ' | 1<<'\t'
	blank := false
	for i := 0; i < len(w); i++ {
		c := w[i]
		switch {
		case c == '\\':
			return "", false
		case c >= 64:
		case bad&(uint64(1)<<c) != 0:
			return "", false
		case blanks&(uint64(1)<<c) != 0:
			blank = true
		}
	}
	if blank {
		return `"` + w + `"`, true
	}
	return w, true
}

// Stdin is the batch's standard input: one line per BatchLine. The
// builder of a Batch has checked every word with BatchWord.
func (s Batch) Stdin() string {
	n := 0
	for _, l := range s.Lines {
		for _, w := range l.Args {
			n += len(w) + 3 // the word, its quotes if any, a blank or the newline
		}
	}
	var b strings.Builder
	b.Grow(n)
	s.WriteStdin(&b)
	return b.String()
}

// WriteStdin writes Stdin's bytes into b (render writes them straight
// into the script).
func (s Batch) WriteStdin(b *strings.Builder) {
	for _, l := range s.Lines {
		for i, w := range l.Args {
			if i > 0 {
				b.WriteByte(' ')
			}
			q, _ := BatchWord(w)
			b.WriteString(q)
		}
		b.WriteByte('\n')
	}
}

// Describe implements Step.
func (s Batch) Describe() string {
	return strings.Join(s.Argv, " ") + " (" + strconv.Itoa(len(s.Lines)) + " commands)"
}

func (Batch) isStep() {}

// FailedLine reads iproute2's "Command failed -:LINE" from a batch's
// stderr and returns the 1-based line, or 0 when there is none.
func FailedLine(stderr string) int {
	const tag = "Command failed -:"
	i := strings.LastIndex(stderr, tag)
	if i < 0 {
		return 0
	}
	rest := stderr[i+len(tag):]
	j := 0
	for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
		j++
	}
	n, err := strconv.Atoi(rest[:j])
	if err != nil {
		return 0
	}
	return n
}

// IfOnlyOwned runs Then when npte's records name exactly Names and their
// kernel namespaces all exist: each name has a marker or an intent record
// that is a regular file (and neither is a symbolic link or of another
// type), /run/netns/NAME exists, no other marker or intent record is
// there, and npte has no gateway record at all (a gateway's host state
// is removed by the one-namespace-at-a-time steps). Otherwise it runs
// Else. The batched teardown uses it: when the
// namespaces to destroy are all of npte's, none of their links can have a
// peer in a namespace that survives, so `ip netns del` of each (one `ip
// -batch`) is enough, without a `link delete group` per namespace; in any
// other case Else is the one-namespace-at-a-time teardown.
//
// Renders as:
//
//	npte_only=1
//	for npte_f in /run/npte/netns/* /run/npte/intent/*; do
//		case ${npte_f##*/} in
//		'*' | NAME1 | NAME2 ...) ;;
//		*) npte_only=0 ;;
//		esac
//	done
//	for npte_f in /run/npte/gateway/*; do
//		case ${npte_f##*/} in
//		'*') ;;
//		*) npte_only=0 ;;
//		esac
//	done
//	if test -L M || { test -e M && ! test -f M; } || test -L I || ... || ! { test -f M || test -f I; } || ! test -e /run/netns/NAME; then npte_only=0; fi   (per name)
//	if test "$npte_only" = 1; then
//		THEN...
//	else
//		ELSE...
//	fi
type IfOnlyOwned struct {
	Names      []string
	Then, Else []Step
}

func (IfOnlyOwned) isStep() {}

// Describe implements Step.
func (s IfOnlyOwned) Describe() string {
	return "if npte's records name exactly the " + strconv.Itoa(len(s.Names)) + " namespaces to destroy"
}

// WriteRecords writes the markers (or, with Intent, the intent records) of
// Names, in order, each exclusively as WriteMarker and WriteIntent do: the
// batching pass uses it so that a lab's records cost one subshell in the
// script, not one each.
//
// Renders as: (set -C; : >PATH1; : >PATH2 ...)
type WriteRecords struct {
	Intent bool
	Names  []string
}

// RemoveRecords removes the markers (or, with Intent, the intent records)
// of Names, as RemoveMarker and RemoveIntent do, in one rm.
//
// Renders as: rm -f -- PATH1 PATH2 ...
type RemoveRecords struct {
	Intent bool
	Names  []string
}

// Steps are the single steps s stands for, in order.
func (s WriteRecords) Steps() []Step {
	out := make([]Step, len(s.Names))
	for i, n := range s.Names {
		if s.Intent {
			out[i] = WriteIntent{Name: n}
		} else {
			out[i] = WriteMarker{Name: n}
		}
	}
	return out
}

// Steps are the single steps s stands for, in order.
func (s RemoveRecords) Steps() []Step {
	out := make([]Step, len(s.Names))
	for i, n := range s.Names {
		if s.Intent {
			out[i] = RemoveIntent{Name: n}
		} else {
			out[i] = RemoveMarker{Name: n}
		}
	}
	return out
}

func (WriteRecords) isStep()  {}
func (RemoveRecords) isStep() {}

// Describe implements Step.
func (s WriteRecords) Describe() string {
	if s.Intent {
		return "record the intent to create " + strings.Join(s.Names, ", ")
	}
	return "mark " + strings.Join(s.Names, ", ") + " as managed by npte"
}

// Describe implements Step.
func (s RemoveRecords) Describe() string {
	if s.Intent {
		return "drop the intent records of " + strings.Join(s.Names, ", ")
	}
	return "remove the npte markers of " + strings.Join(s.Names, ", ")
}

// RequireAllAbsent is RequireAbsent then RequireEtcNetnsAbsent for each of
// Names, with the two directory checks (/run/netns a directory, /etc/netns
// root-only) made once rather than once per name. The batching pass
// builds it from a run of those guards; their order among themselves does
// not matter (guards change nothing), so a plan that creates N namespaces
// checks /etc/netns with one find instead of N.
//
// Renders as:
//
//	if test -e /run/netns && ! test -d /run/netns; then echo 'npte: /run/netns is not a directory ...' >&2; exit 2; fi
//	if test -e MARKER1 || ... || test -L /run/netns/NAME1; then echo 'npte: NAME1: already exists ...' >&2; exit 2; fi
//	... (one line per name)
//	if test -L /etc/netns || ... || test -n "$(find /etc/netns -prune ...)"; then echo 'npte: /etc/netns ...' >&2; exit 2; fi
//	if test -e /etc/netns/NAME1 || test -L /etc/netns/NAME1; then echo 'npte: /etc/netns/NAME1 already exists ...' >&2; exit 2; fi
//	... (one line per name)
type RequireAllAbsent struct{ Names []string }

// Describe implements Step.
func (s RequireAllAbsent) Describe() string {
	return "check that none of " + strings.Join(s.Names, ", ") + " exists yet"
}

func (RequireAllAbsent) isStep() {}
