#!/usr/bin/env python3
"""Counts test cases from a `bazel test` run: prints "N passed, N failed".

usage: count_test_results.py BAZEL_OUTPUT_LOG TESTLOGS_DIR

Reads the JUnit XML that every test target writes (GoogleTest writes one <testcase> per
TEST) for the targets the log reports. A target the log reports as failed, timed out or not
built, without a usable XML report, counts as one failed case. Exits 1 if anything failed.
"""

import os
import re
import sys
import xml.etree.ElementTree as ElementTree

STATUS = re.compile(r"^(//\S+)\s+(?:\(cached\) )?(PASSED|FAILED|TIMEOUT|NO STATUS|FLAKY|"
                    r"FAILED TO BUILD|INCOMPLETE|SKIPPED)\b")


def count_xml(path):
    root = ElementTree.parse(path).getroot()
    passed = failed = 0
    for case in root.iter("testcase"):
        if case.get("status") == "notrun" or case.find("skipped") is not None:
            continue
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
        else:
            passed += 1
    return passed, failed


def main():
    if sys.argv[1:] in (["-h"], ["--help"]):
        print(__doc__.strip())
        return 0
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip())
    log_path, testlogs = sys.argv[1], sys.argv[2]
    passed = failed = 0
    build_failed = False
    with open(log_path, errors="replace") as log:
        lines = log.read().splitlines()
    for line in lines:
        if "FAILED: Build did NOT complete successfully" in line:
            build_failed = True
        match = STATUS.match(line.strip())
        if not match:
            continue
        target, status = match.groups()
        if status == "SKIPPED":
            continue
        package, _, name = target[2:].partition(":")
        xml_path = os.path.join(testlogs, package, name, "test.xml")
        counted = None
        if os.path.exists(xml_path):
            try:
                counted = count_xml(xml_path)
            except ElementTree.ParseError:
                counted = None
        if counted and (status in ("PASSED", "FLAKY") or counted[1] > 0):
            passed += counted[0]
            failed += counted[1]
        else:
            # Failed without saying which case failed (crash, timeout, no report).
            if counted:
                passed += counted[0]
            failed += 1
    if build_failed and failed == 0:
        failed = 1  # the build broke before any test could report
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
