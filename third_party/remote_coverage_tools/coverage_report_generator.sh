#!/bin/sh
echo "coverage_report_generator: coverage reports need Bazel's downloadable tools, which this offline workspace does not fetch" >&2
exit 1
