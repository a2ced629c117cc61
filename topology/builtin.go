package topology

import (
	"fmt"

	embedded "github.com/npte/npte/examples"
)

// BuiltinLab is the name of the built-in lab: the `name:` of the
// embedded examples/builtin.yaml, and the lab `npte lab create` applies
// and `npte lab destroy` (no argument) destroys.
const BuiltinLab = "builtin"

// BuiltinFile is how messages name the embedded built-in lab file.
const BuiltinFile = "(built-in) examples/" + embedded.BuiltinName

// Builtin is the built-in lab: the embedded examples/builtin.yaml,
// parsed and resolved as `npte lab apply` resolves a file. An error
// means the embedded file is broken, which the tests rule out.
func Builtin() (*Lab, error) {
	l, err := LoadBytes(BuiltinFile, embedded.Builtin())
	if err != nil {
		return nil, fmt.Errorf("the built-in lab file is invalid: %w", err)
	}
	if l.Name != BuiltinLab {
		return nil, fmt.Errorf("the built-in lab file names lab %q, not %q", l.Name, BuiltinLab)
	}
	return l, nil
}
