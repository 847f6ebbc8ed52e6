// knative-serving: Knative Serving's own Go API types, for the e2e suite.
//
//	knative-serving crd      prints the CustomResourceDefinitions of services, configurations,
//	                         revisions and routes.serving.knative.dev, each openAPIV3Schema derived
//	                         from the v1 Go type by reflection (schema.go)
//	knative-serving check    reads Services (YAML or JSON, multi-document) on stdin and runs
//	                         Knative's SetDefaults and Validate on each, as its webhook would
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"knative.dev/pkg/apis"
	v1 "knative.dev/serving/pkg/apis/serving/v1"
	"sigs.k8s.io/yaml"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: knative-serving crd | check < services.yaml")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "crd":
		err = printCRD(os.Stdout)
	case "check":
		err = checkServices(os.Stdin, os.Stdout)
	default:
		err = fmt.Errorf("unknown command %q (crd, check)", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "knative-serving:", err)
		os.Exit(1)
	}
}

// The CRDs of the Serving resources kubectl users meet: services (ksvc), configurations,
// revisions and routes.
var resources = []struct {
	object                 any
	kind, plural, singular string
	shortNames             []string
}{
	{v1.Service{}, "Service", "services", "service", []string{"kservice", "ksvc"}},
	{v1.Configuration{}, "Configuration", "configurations", "configuration", []string{"config", "cfg"}},
	{v1.Revision{}, "Revision", "revisions", "revision", []string{"rev"}},
	{v1.Route{}, "Route", "routes", "route", []string{"rt"}},
}

func printCRD(out io.Writer) error {
	for _, r := range resources {
		schema := schemaOf(typeOf(r.object), nil)
		// The API server owns metadata's schema; status is written by Knative's controllers.
		schema.Properties["metadata"] = apiextensionsv1.JSONSchemaProps{Type: "object"}
		schema.Properties["status"] = apiextensionsv1.JSONSchemaProps{Type: "object", XPreserveUnknownFields: ptr(true)}
		crd := apiextensionsv1.CustomResourceDefinition{
			TypeMeta: metav1.TypeMeta{APIVersion: "apiextensions.k8s.io/v1", Kind: "CustomResourceDefinition"},
			ObjectMeta: metav1.ObjectMeta{
				Name:   r.plural + ".serving.knative.dev",
				Labels: map[string]string{"serving.knative.dev/release": "api-types"},
			},
			Spec: apiextensionsv1.CustomResourceDefinitionSpec{
				Group: "serving.knative.dev",
				Names: apiextensionsv1.CustomResourceDefinitionNames{
					Kind: r.kind, ListKind: r.kind + "List", Plural: r.plural, Singular: r.singular,
					ShortNames: r.shortNames, Categories: []string{"all", "knative", "serving"},
				},
				Scope: apiextensionsv1.NamespaceScoped,
				Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
					Name: "v1", Served: true, Storage: true,
					Subresources: &apiextensionsv1.CustomResourceSubresources{Status: &apiextensionsv1.CustomResourceSubresourceStatus{}},
					Schema:       &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &schema},
				}},
			},
		}
		text, err := yaml.Marshal(crd)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(out, "---\n%s", text); err != nil {
			return err
		}
	}
	return nil
}

// checkServices prints one line per Service and fails when any is refused.
func checkServices(in io.Reader, out io.Writer) error {
	decoder := utilyaml.NewYAMLOrJSONDecoder(bufio.NewReader(in), 4096)
	refused, count := 0, 0
	for {
		var raw json.RawMessage
		if err := decoder.Decode(&raw); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return err
		}
		if len(raw) == 0 || string(raw) == "null" {
			continue
		}
		var svc v1.Service
		if err := json.Unmarshal(raw, &svc); err != nil {
			return fmt.Errorf("document %d is not a Knative Service: %w", count+1, err)
		}
		count++
		ctx := apis.WithinCreate(context.Background())
		svc.SetDefaults(ctx)
		if fieldErr := svc.Validate(ctx); fieldErr != nil {
			refused++
			fmt.Fprintf(out, "refused %s/%s: %v\n", svc.Namespace, svc.Name, fieldErr)
			continue
		}
		fmt.Fprintf(out, "accepted %s/%s\n", svc.Namespace, svc.Name)
	}
	if count == 0 {
		return errors.New("no Service on stdin")
	}
	if refused > 0 {
		return fmt.Errorf("%d of %d Services refused by Knative's validation", refused, count)
	}
	return nil
}

func ptr[T any](v T) *T { return &v }
