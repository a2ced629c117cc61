// Package examples holds npte's example lab files. One of them is built
// into the binary: builtin.yaml, the client/router/server lab that
// `npte lab create` applies (package topology, Builtin). The embedded
// bytes are the file in this directory, so the example and the built-in
// lab cannot drift apart.
package examples

import _ "embed"

//go:embed builtin.yaml
var builtin string

// BuiltinName is the file name of the built-in lab, as error messages
// name it.
const BuiltinName = "builtin.yaml"

// Builtin returns the bytes of builtin.yaml, the built-in lab file, as
// embedded at build time (a fresh copy on every call).
func Builtin() []byte { return []byte(builtin) }
