#!/bin/sh
# 0002-sasl.t - the SCRAM client against the RFC 5802 and RFC 7677 examples
TOP=${TOP:-$(cd "$(dirname "$0")/.." && pwd)}
if [ ! -x "$TOP/tests/unit/sasl-test" ]; then
	echo "1..1"
	echo "not ok 1 - tests/unit/sasl-test is built (make tests/unit/sasl-test)"
	exit 1
fi
exec "$TOP/tests/unit/sasl-test"
