#!/bin/sh
# The seccomp filter of common/sandbox.c, tested in C (tests/unit/sandbox-test.c).
TOP=${TOP:-$(cd "$(dirname "$0")/.." && pwd)}
exec "$TOP/tests/unit/sandbox-test"
