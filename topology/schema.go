package topology

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strings"
)

// SchemaID is the $id of the lab file's JSON Schema.
const SchemaID = "https://github.com/npte/npte/topology/lab.schema.json"

// Schema is the JSON Schema (draft 2020-12) of a lab file, derived from
// the File types by reflection: yaml tags give the keys, doc tags the
// descriptions, enum tags the allowed words; unknown keys are refused
// (additionalProperties: false), as the parser refuses them.
func Schema() []byte {
	s := schemaOf(reflect.TypeOf(File{}))
	s["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	s["$id"] = SchemaID
	s["title"] = "npte lab file"
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		panic(err)
	}
	return append(b, '\n')
}

var (
	linkType  = reflect.TypeOf(Link{})
	addrsType = reflect.TypeOf(Addrs{})
	textType  = reflect.TypeFor[encoding.TextUnmarshaler]()
)

func schemaOf(t reflect.Type) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case linkType:
		obj := structSchema(t)
		return map[string]any{"oneOf": []any{
			map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "minItems": 2, "maxItems": 2,
				"description": "a veth link between two nodes, addressed from the pools"},
			obj,
		}}
	case addrsType:
		return map[string]any{"oneOf": []any{
			map[string]any{"type": "string"},
			map[string]any{"type": "array", "items": map[string]any{"type": "string"}},
		}}
	}
	if reflect.PointerTo(t).Implements(textType) {
		// A knob: one value in its grammar (a number is taken as written).
		return map[string]any{"type": []string{"string", "number"}}
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": schemaOf(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": schemaOf(t.Elem())}
	case reflect.Struct:
		return structSchema(t)
	}
	return map[string]any{}
}

func structSchema(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && strings.Contains(opts, "inline") {
			inner := structSchema(f.Type)
			for k, v := range inner["properties"].(map[string]any) {
				props[k] = v
			}
			continue
		}
		if name == "" || name == "-" {
			continue
		}
		p := schemaOf(f.Type)
		if d := f.Tag.Get("doc"); d != "" {
			p["description"] = d
		} else if h := f.Tag.Get("help"); h != "" {
			p["description"] = h // a knob: its flag's help
		}
		if e := f.Tag.Get("enum"); e != "" {
			p["enum"] = strings.Split(e, ",")
		}
		props[name] = p
		if !strings.Contains(opts, "omitempty") {
			required = append(required, name)
		}
	}
	s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}
