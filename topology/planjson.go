package topology

import (
	"encoding/json"
	"reflect"
	"unicode"

	"github.com/npte/npte/plan"
)

// PlanJSON is the plan as JSON for tools: {"argv": [...], "undo": [...],
// "steps": [{"type": "Command", "argv": [...]}, ...]}. Each step is an
// object whose "type" is the step's Go type name and whose other keys are
// its fields, lowerCamelCase, zero values omitted; steps inside
// conditional steps are under "then", the lanes of a Lanes step under
// "lanes" (a list of step lists).
func PlanJSON(p plan.Plan) []byte {
	out := map[string]any{"argv": p.Argv, "steps": stepsJSON(p.Steps)}
	if p.Undo != nil {
		out["undo"] = p.Undo
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		panic(err)
	}
	return append(b, '\n')
}

var (
	stepsType = reflect.TypeOf([]plan.Step(nil))
	lanesType = reflect.TypeOf([][]plan.Step(nil))
)

func stepsJSON(steps []plan.Step) []any {
	out := make([]any, 0, len(steps))
	for _, s := range steps {
		v := reflect.ValueOf(s)
		m := map[string]any{"type": v.Type().Name()}
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			fv := v.Field(i)
			if !f.IsExported() || fv.IsZero() {
				continue
			}
			key := []rune(f.Name)
			key[0] = unicode.ToLower(key[0])
			switch f.Type {
			case stepsType:
				m[string(key)] = stepsJSON(fv.Interface().([]plan.Step))
				continue
			case lanesType:
				var lanes [][]any
				for _, l := range fv.Interface().([][]plan.Step) {
					lanes = append(lanes, stepsJSON(l))
				}
				m[string(key)] = lanes
				continue
			}
			m[string(key)] = fv.Interface()
		}
		out = append(out, m)
	}
	return out
}
