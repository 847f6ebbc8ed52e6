package main

import (
	"reflect"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func typeOf(v any) reflect.Type { return reflect.TypeOf(v) }

var (
	quantityType  = reflect.TypeOf(resource.Quantity{})
	intOrString   = reflect.TypeOf(intstr.IntOrString{})
	timeType      = reflect.TypeOf(metav1.Time{})
	microTimeType = reflect.TypeOf(metav1.MicroTime{})
	durationType  = reflect.TypeOf(metav1.Duration{})
	rawType       = reflect.TypeOf(runtime.RawExtension{})
	objectMeta    = reflect.TypeOf(metav1.ObjectMeta{})
)

// schemaOf turns a Go API type into a structural OpenAPI v3 schema, field by field through the
// json tags, the way the API server will read the objects. seen guards against recursive types.
func schemaOf(t reflect.Type, seen map[reflect.Type]bool) apiextensionsv1.JSONSchemaProps {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case quantityType, intOrString:
		return apiextensionsv1.JSONSchemaProps{XIntOrString: true, AnyOf: []apiextensionsv1.JSONSchemaProps{{Type: "integer"}, {Type: "string"}}}
	case timeType, microTimeType:
		return apiextensionsv1.JSONSchemaProps{Type: "string", Format: "date-time"}
	case durationType:
		return apiextensionsv1.JSONSchemaProps{Type: "string"}
	case rawType:
		return apiextensionsv1.JSONSchemaProps{Type: "object", XPreserveUnknownFields: ptr(true)}
	case objectMeta:
		return apiextensionsv1.JSONSchemaProps{Type: "object", XPreserveUnknownFields: ptr(true)}
	}
	switch t.Kind() {
	case reflect.String:
		return apiextensionsv1.JSONSchemaProps{Type: "string"}
	case reflect.Bool:
		return apiextensionsv1.JSONSchemaProps{Type: "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		format := ""
		if t.Kind() == reflect.Int32 {
			format = "int32"
		} else if t.Kind() == reflect.Int64 {
			format = "int64"
		}
		return apiextensionsv1.JSONSchemaProps{Type: "integer", Format: format}
	case reflect.Float32, reflect.Float64:
		return apiextensionsv1.JSONSchemaProps{Type: "number"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return apiextensionsv1.JSONSchemaProps{Type: "string", Format: "byte"}
		}
		items := schemaOf(t.Elem(), seen)
		return apiextensionsv1.JSONSchemaProps{Type: "array", Items: &apiextensionsv1.JSONSchemaPropsOrArray{Schema: &items}}
	case reflect.Map:
		values := schemaOf(t.Elem(), seen)
		return apiextensionsv1.JSONSchemaProps{Type: "object", AdditionalProperties: &apiextensionsv1.JSONSchemaPropsOrBool{Allows: true, Schema: &values}}
	case reflect.Interface:
		return apiextensionsv1.JSONSchemaProps{XPreserveUnknownFields: ptr(true)}
	case reflect.Struct:
		if seen[t] {
			return apiextensionsv1.JSONSchemaProps{Type: "object", XPreserveUnknownFields: ptr(true)}
		}
		inner := map[reflect.Type]bool{t: true}
		for k := range seen {
			inner[k] = true
		}
		schema := apiextensionsv1.JSONSchemaProps{Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{}}
		addFields(&schema, t, inner)
		return schema
	}
	return apiextensionsv1.JSONSchemaProps{XPreserveUnknownFields: ptr(true)}
}

func addFields(schema *apiextensionsv1.JSONSchemaProps, t reflect.Type, seen map[reflect.Type]bool) {
	for i := 0; i < t.NumField(); i++ {
		field := t.Field(i)
		if !field.IsExported() {
			continue
		}
		tag := field.Tag.Get("json")
		name, options, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if field.Anonymous && (name == "" || strings.Contains(options, "inline")) {
			embedded := field.Type
			for embedded.Kind() == reflect.Pointer {
				embedded = embedded.Elem()
			}
			if embedded.Kind() == reflect.Struct && embedded != objectMeta {
				addFields(schema, embedded, seen)
				continue
			}
		}
		if name == "" {
			name = field.Name
		}
		schema.Properties[name] = schemaOf(field.Type, seen)
	}
}
