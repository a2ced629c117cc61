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
			f := strings.Fields(line)
			if len(f) == 0 || f[0] == "default" || len(f) > 1 && f[1] == "default" {
				continue
			}
			return false, guard(errors.New(s.Message + ": " + strings.Join(f, " "))), nil
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
			return false, guard(e), nil
		}
		if e != nil {
			return false, nil, e
		}
		if taken {
			return false, guard(fmt.Errorf("%s: npte has a record of a gateway of %s (%s); remove what is left of it first: npte gateway destroy %s",
				s.NS, s.NS, reg.Layout.GatewayDir(), s.NS)), nil
		}
	case plan.WriteGatewayRecord:
		e := reg.WriteGatewayRecord(s.NS, s.Firewall)
		if errors.Is(e, registry.ErrUnsafe) {
			return false, guard(e), nil
		}
		return e == nil, nil, e
	case plan.RemoveGatewayRecord:
		removed, e := reg.RemoveGatewayRecord(s.NS, s.Firewall)
		if errors.Is(e, registry.ErrUnsafe) {
			return false, guard(e), nil
		}
		return removed && e == nil, nil, e
	case plan.RequireSafeGatewayRecords:
		// GatewayRecorded checks the directory and every record path.
		if _, e := reg.GatewayRecorded(s.NS, ""); e != nil {
			if errors.Is(e, registry.ErrUnsafe) {
				return false, guard(e), nil
			}
			return false, nil, e
		}
	case plan.IfGatewayRecord:
		ok, e := reg.GatewayRecorded(s.NS, s.Firewall)
		if errors.Is(e, registry.ErrUnsafe) {
			return false, guard(e), nil
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
