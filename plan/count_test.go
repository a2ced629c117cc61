package plan_test

import (
	"testing"

	"github.com/npte/npte/plan"
)

// TestCount (issue 11 item 9): Count, the M of "step N/M failed", counts
// each conditional step and the steps inside it, for every conditional
// step type and nested ones.
func TestCount(t *testing.T) {
	c := plan.Command{Argv: []string{"ip", "netns", "list"}}
	two := []plan.Step{c, c}
	for _, tc := range []struct {
		name  string
		steps []plan.Step
		want  int
	}{
		{"empty", nil, 0},
		{"flat", []plan.Step{plan.Lock{}, c, plan.Unlock{}}, 3},
		{"IfOwned", []plan.Step{plan.IfOwned{Name: "a", Then: two}}, 3},
		{"IfNetns", []plan.Step{plan.IfNetns{Name: "a", Then: two}}, 3},
		{"IfOutput", []plan.Step{plan.IfOutput{Argv: []string{"ip", "link"}, Then: two}}, 3},
		{"IfGatewayRecord", []plan.Step{plan.IfGatewayRecord{NS: "a", Then: two}}, 3},
		{"IfNetns after steps", []plan.Step{c, plan.IfNetns{Name: "a", Then: two}, c}, 5},
		{"IfNetns inside IfOwned", []plan.Step{plan.IfOwned{Name: "a", Then: []plan.Step{plan.IfNetns{Name: "a", Then: two}, c}}}, 5},
		{"IfOwned inside IfNetns", []plan.Step{plan.IfNetns{Name: "a", Then: []plan.Step{plan.IfOwned{Name: "a", Then: two}}}}, 4},
		{"IfOutput inside IfGatewayRecord", []plan.Step{plan.IfGatewayRecord{NS: "a", Then: []plan.Step{plan.IfOutput{Argv: []string{"ip", "link"}, Then: two}}}}, 4},
		{"empty IfNetns", []plan.Step{plan.IfNetns{Name: "a"}}, 1},
	} {
		if got := plan.Count(tc.steps); got != tc.want {
			t.Errorf("%s: Count = %d, want %d", tc.name, got, tc.want)
		}
	}
}
