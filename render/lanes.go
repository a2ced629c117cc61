package render

import (
	"fmt"
	"strconv"

	"github.com/npte/npte/plan"
)

// lanes renders plan.Lanes: each lane a subshell run in the background,
// its pid kept, then a wait for every lane in turn; the script fails
// (exit 1) after all lanes have ended when any of them failed. The
// subshells inherit the script's fd 9, so the lock stays held until the
// last lane has ended, even if the script itself is killed. A background
// job of a non-interactive shell reads /dev/null: every step in a lane
// reads its heredoc, never the script's standard input (which may be the
// script itself, piped into sh).
func (r *renderer) lanes(s plan.Lanes, indent string) error {
	r.line(indent, Comment("Run "+s.Describe()+", then wait for all of them."))
	for i, l := range s.Lanes {
		for _, x := range l {
			switch x := x.(type) {
			case plan.Batch:
			case plan.Command:
				// As the live executor: a lane's command fails the lane.
				if x.Handoff || x.Tolerant {
					return fmt.Errorf("render: a handoff or tolerated command in a lane: %s", x.Describe())
				}
			default:
				return fmt.Errorf("render: %T in a lane", x)
			}
		}
		r.line(indent, "(")
		if err := r.steps(l, indent+"\t"); err != nil {
			return err
		}
		r.line(indent, ") &")
		r.line(indent, laneVar(i), "=$!")
	}
	r.line(indent, "npte_rc=0")
	for i := range s.Lanes {
		r.line(indent, `wait "$`, laneVar(i), `" || npte_rc=1`)
	}
	r.line(indent, `test "$npte_rc" = 0 || exit 1`)
	return nil
}

// laneVar is the shell variable holding the pid of lane i (0-based).
func laneVar(i int) string { return "npte_lane" + strconv.Itoa(i+1) }
