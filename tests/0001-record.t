#!/bin/sh
# The record codec and the XML escaping, tested in C (tests/unit/record-test.c).
TOP=${TOP:-$(cd "$(dirname "$0")/.." && pwd)}
exec "$TOP/tests/unit/record-test"
