package exec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/npte/npte/plan"
	"github.com/npte/npte/registry"
)

// gatewayStep runs the steps of plan/gateway.go as their rendering does.
// It returns whether the step changed state, an error that ends the run
// as it is (a guard's refusal, or the failure of a nested step), and an
// error that fails this step (exit 1).
func (r *Runner) gatewayStep(ctx context.Context, st *state, s plan.Step) (changed bool, stop, err error) {
	reg := r.Registry
	guard := func(e error) error { return st.fail(s, &GuardError{e.Error()}, ExitUsage) }
	switch s := s.(type) {
	case plan.RequireNoRoute:
		out, e := r.output(ctx, s.Argv, r.Stderr, st.lock)
		if e != nil {
			return false, nil, e
		}
		for _, line := range strings.Split(out, "\n") {
			a, b, c := read3(line)
			if a == "" || a == "default" || b == "default" {
				continue
			}
			return false, guard(errors.New(s.Refusal(a, b, c))), nil
		}
	case plan.IfOutput:
		out, e := r.output(ctx, s.Argv, io.Discard, st.lock)
		if e != nil && !isExit(e) {
			return false, nil, e
		}
		if strings.TrimRight(out, "\n") != "" {
			return false, r.steps(ctx, st, s.Then), nil
		}
		st.index += plan.Count(s.Then)
	case plan.RequireNoGatewayRecord:
		taken, e := reg.GatewayTaken(s.NS)
		if errors.Is(e, registry.ErrUnsafe) {
			return false, guard(errors.New(plan.GatewayDirRefusal(reg.Layout))), nil
		}
		if e != nil {
			return false, nil, e
		}
		if taken {
			return false, guard(errors.New(s.Refusal(reg.Layout))), nil
		}
	case plan.WriteGatewayRecord:
		e := reg.WriteGatewayRecord(s.NS, s.Firewall)
		if errors.Is(e, registry.ErrUnsafe) {
			if wrongType(reg.Layout.GatewayDir(), true) {
				e = errors.New(plan.GatewayDirRefusal(reg.Layout))
			}
			return false, guard(e), nil
		}
		return e == nil, nil, e
	case plan.RemoveGatewayRecord:
		removed, e := reg.RemoveGatewayRecord(s.NS, s.Firewall)
		if errors.Is(e, registry.ErrUnsafe) {
			return false, guard(errors.New(plan.RequireSafeGatewayRecords{NS: s.NS}.Refusal(reg.Layout))), nil
		}
		return removed && e == nil, nil, e
	case plan.RequireSafeGatewayRecords:
		// GatewayRecorded checks the directory and every record path.
		if _, e := reg.GatewayRecorded(s.NS, ""); e != nil {
			if errors.Is(e, registry.ErrUnsafe) {
				return false, guard(errors.New(s.Refusal(reg.Layout))), nil
			}
			return false, nil, e
		}
	case plan.IfGatewayRecord:
		ok, e := reg.GatewayRecorded(s.NS, s.Firewall)
		if errors.Is(e, registry.ErrUnsafe) {
			return false, guard(errors.New(plan.RequireSafeGatewayRecords{NS: s.NS}.Refusal(reg.Layout))), nil
		}
		if e != nil {
			return false, nil, e
		}
		if s.Firewall == "" {
			ok = !ok
		}
		if ok {
			return false, r.steps(ctx, st, s.Then), nil
		}
		st.index += plan.Count(s.Then)
	default:
		return false, nil, fmt.Errorf("unknown step %T", s)
	}
	return false, nil, nil
}

// read3 splits line as sh's `read -r a b c` does with the default IFS:
// a and b are the first two words, c the rest of the line without its
// leading and trailing blanks (spaces, tabs).
func read3(line string) (a, b, c string) {
	const blanks = " \t"
	rest := strings.TrimLeft(line, blanks)
	for _, w := range []*string{&a, &b} {
		i := strings.IndexAny(rest, blanks)
		if i < 0 {
			*w, rest = rest, ""
			break
		}
		*w, rest = rest[:i], strings.TrimLeft(rest[i:], blanks)
	}
	return a, b, strings.TrimRight(rest, blanks)
}

// output runs argv (a read-only, allowlisted program) and returns what it
// printed on stdout; its error output goes to stderr. The error is the
// program's (a non-zero exit satisfies isExit). Like every child, it
// holds lock when not nil, as the script's command substitution does.
func (r *Runner) output(ctx context.Context, argv []string, stderr io.Writer, lock *os.File) (string, error) {
	path, err := r.Resolve(argv[0])
	if err != nil {
		return "", err
	}
	var out bytes.Buffer
	err = r.start(ctx, Cmd{Path: path, Argv: argv, Env: Env(), Stdout: &out, Stderr: stderr, Lock: lock})
	return out.String(), err
}
