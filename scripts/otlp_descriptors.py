#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes the OTLP FileDescriptorSet shipped in PyPI's opentelemetry-proto package.

protoc reads it with --descriptor_set_in, so the C++ code is generated from the
maintained upstream definitions instead of a hand-kept copy of the .proto files.
"""
import argparse
import importlib

from google.protobuf import descriptor_pb2

MODULES = [
    "opentelemetry.proto.common.v1.common_pb2",
    "opentelemetry.proto.resource.v1.resource_pb2",
    "opentelemetry.proto.logs.v1.logs_pb2",
    "opentelemetry.proto.trace.v1.trace_pb2",
    "opentelemetry.proto.metrics.v1.metrics_pb2",
    "opentelemetry.proto.collector.logs.v1.logs_service_pb2",
    "opentelemetry.proto.collector.trace.v1.trace_service_pb2",
    "opentelemetry.proto.collector.metrics.v1.metrics_service_pb2",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("output", help="FileDescriptorSet to write")
    args = parser.parse_args()
    out = descriptor_pb2.FileDescriptorSet()
    seen = set()

    def add(file_descriptor):
        if file_descriptor.name in seen:
            return
        for dep in file_descriptor.dependencies:
            add(dep)
        seen.add(file_descriptor.name)
        proto = descriptor_pb2.FileDescriptorProto()
        file_descriptor.CopyToProto(proto)
        out.file.append(proto)

    for name in MODULES:
        add(importlib.import_module(name).DESCRIPTOR)
    data = out.SerializeToString()
    try:
        with open(args.output, "rb") as f:
            if f.read() == data:
                return  # unchanged: keep the timestamp so nothing rebuilds
    except FileNotFoundError:
        pass
    with open(args.output, "wb") as f:
        f.write(data)


if __name__ == "__main__":
    main()
