// SPDX-License-Identifier: Apache-2.0

// Writes the FileDescriptorSet of OTel Arrow's arrow_service.proto, as compiled
// into the pinned github.com/open-telemetry/otel-arrow/go module (go.mod), so
// that protoc generates our C++ from upstream's own definition (no hand copy).
// Usage: go run . OUT.desc
package main

import (
	"fmt"
	"os"

	arrowpb "github.com/open-telemetry/otel-arrow/go/api/experimental/arrow/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/descriptorpb"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: otap_proto OUT.desc")
		os.Exit(2)
	}
	file := protodesc.ToFileDescriptorProto(arrowpb.File_opentelemetry_proto_experimental_arrow_v1_arrow_service_proto)
	set := &descriptorpb.FileDescriptorSet{File: []*descriptorpb.FileDescriptorProto{file}}
	out, err := proto.MarshalOptions{Deterministic: true}.Marshal(set)
	if err == nil {
		err = os.WriteFile(os.Args[1], out, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "otap_proto:", err)
		os.Exit(1)
	}
}
