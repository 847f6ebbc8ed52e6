// otlp-spans: an OTLP/gRPC trace receiver that writes every span it is sent as one JSON line, for
// bench:cluster to read the API server's spans (kube-apiserver exports over OTLP gRPC only).
//
//	otlp-spans -listen 127.0.0.1:4317 -out spans.jsonl
//
// Times are Unix nanoseconds as decimal strings (beyond a JSON number's exact range); ids are hex.
package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	"google.golang.org/grpc"
)

type event struct {
	Name string `json:"name"`
	Ns   string `json:"ns"`
}

type span struct {
	Trace      string            `json:"trace"`
	Span       string            `json:"span"`
	Parent     string            `json:"parent,omitempty"`
	Name       string            `json:"name"`
	StartNs    string            `json:"startNs"`
	EndNs      string            `json:"endNs"`
	Attributes map[string]string `json:"attributes,omitempty"`
	Events     []event           `json:"events,omitempty"`
}

type receiver struct {
	collectortrace.UnimplementedTraceServiceServer
	mu  sync.Mutex
	out *bufio.Writer
	enc *json.Encoder
}

func text(v *commonpb.AnyValue) string {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_IntValue:
		return strconv.FormatInt(x.IntValue, 10)
	case *commonpb.AnyValue_BoolValue:
		return strconv.FormatBool(x.BoolValue)
	case *commonpb.AnyValue_DoubleValue:
		return strconv.FormatFloat(x.DoubleValue, 'g', -1, 64)
	default:
		return fmt.Sprint(v.GetValue())
	}
}

func (r *receiver) Export(_ context.Context, req *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, resource := range req.GetResourceSpans() {
		for _, scope := range resource.GetScopeSpans() {
			for _, s := range scope.GetSpans() {
				line := span{
					Trace:   hex.EncodeToString(s.GetTraceId()),
					Span:    hex.EncodeToString(s.GetSpanId()),
					Parent:  hex.EncodeToString(s.GetParentSpanId()),
					Name:    s.GetName(),
					StartNs: strconv.FormatUint(s.GetStartTimeUnixNano(), 10),
					EndNs:   strconv.FormatUint(s.GetEndTimeUnixNano(), 10),
				}
				if attributes := s.GetAttributes(); len(attributes) > 0 {
					line.Attributes = make(map[string]string, len(attributes))
					for _, kv := range attributes {
						line.Attributes[kv.GetKey()] = text(kv.GetValue())
					}
				}
				for _, e := range s.GetEvents() {
					line.Events = append(line.Events, event{Name: e.GetName(), Ns: strconv.FormatUint(e.GetTimeUnixNano(), 10)})
				}
				if err := r.enc.Encode(line); err != nil {
					return nil, err
				}
			}
		}
	}
	// Flushed per export, so a reader sees every span the API server has sent so far.
	if err := r.out.Flush(); err != nil {
		return nil, err
	}
	return &collectortrace.ExportTraceServiceResponse{}, nil
}

func main() {
	listen := flag.String("listen", "127.0.0.1:4317", "address to serve OTLP/gRPC on")
	outPath := flag.String("out", "spans.jsonl", "file the spans are appended to, one JSON object per line")
	flag.Parse()
	file, err := os.OpenFile(*outPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		log.Fatal(err)
	}
	listener, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	out := bufio.NewWriter(file)
	server := grpc.NewServer()
	collectortrace.RegisterTraceServiceServer(server, &receiver{out: out, enc: json.NewEncoder(out)})
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-stop
		server.GracefulStop()
	}()
	log.Printf("otlp-spans: serving OTLP/gRPC on %s, writing %s", listener.Addr(), *outPath)
	if err := server.Serve(listener); err != nil {
		log.Fatal(err)
	}
	_ = file.Close()
}
