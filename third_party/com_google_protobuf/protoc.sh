#!/bin/sh
# Debian's protoc (package protobuf-compiler), as Bazel's proto compiler.
exec /usr/bin/protoc "$@"
