#!/bin/sh
# fuzzing regressions without clang: every seed and every reproducer of
# tests/fuzz through xmpp-parse itself (exit 0 to 3, sane records) and
# through the harnesses' own checks, built with cc (tests/fuzz/standalone.c)
. "${TOP:=$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"
P=${XMPP_PARSE:-$TOP/xmpp-parse/xmpp-parse}
F=$TOP/tests/fuzz

# todo FILE: the reason it is known to fail (tests/fuzz/regress/TODO), or ""
todo() {
	sed -n "s|^${1#"$F/regress/"} ||p" "$F/regress/TODO" 2>/dev/null
}

# verdict OK DESC FILE: a TAP line; a known failure is a TODO
verdict() {
	_why=
	case $3 in "$F/regress/"*) _why=$(todo "$3");; esac
	if [ -n "$_why" ]; then
		ntest=$((ntest + 1))
		[ "$1" -eq 0 ] && _r="ok" || _r="not ok"
		echo "$_r $ntest - $2 # TODO $_why"
	elif [ "$1" -eq 0 ]; then
		pass "$2"
	else
		fail "$2"
	fi
}

# sane FILE: xmpp-parse exits 0, 2 or 3 (1 only for a capture, which
# begins with x), and every line is KIND then items of xmpp-record(5)
sane() {
	"$P" <"$1" >"$T/out" 2>"$T/err"
	_st=$?
	case $_st in
	0|2|3) ;;
	1) [ "$(head -c 1 "$1")" = x ] || return 1;;
	*) diag "exit $_st"; return 1;;
	esac
	LC_ALL=C awk -F '\t' '
	    $1 == "" || $1 ~ /[\001-\040\177\\]/ { bad = 1 }
	    {
		for (i = 2; i <= NF; i++)
			if ($i !~ /^(xmlns=|@[^=]+=|\(.|-|\)$)/)
				bad = 1
	    }
	    bad { print "bad record: " $0; exit 1 }' "$T/out" >"$T/awk" ||
	    { diag "$(cat "$T/awk")"; return 1; }
	# and the records it wrote must pass the codec checks
	awk -v d="$T/rec" '{ f = d "." NR; print > f; close(f) }' "$T/out"
	for _r in "$T"/rec.*; do
		[ -f "$_r" ] || continue
		"$T/record-check" "$_r" 2>>"$T/err" || { rm -f "$T"/rec.*;
		    diag "$(tail -n 3 "$T/err")"; return 1; }
	done
	rm -f "$T"/rec.*
}

set -- "$F"/corpus/parse/* "$F"/regress/parse/*
nparse=0
for f; do [ -f "$f" ] && nparse=$((nparse + 1)); done
nrec=0
for f in "$F"/corpus/record/* "$F"/regress/record/*; do
	[ -f "$f" ] && nrec=$((nrec + 1))
done
plan $((2 + 2 * nparse + nrec))

# The harnesses as plain programs: cc, no clang, no libFuzzer.
CCF="-std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
    -I$TOP/common $(pkg-config --cflags libbsd-overlay) ${CFLAGS:--O1 -g}"
LIBS=$(pkg-config --libs expat libbsd-overlay)
COMMON="$TOP/common/buf.c $TOP/common/record.c $TOP/common/xml.c
    $TOP/common/sandbox.c"
for h in record parse; do
	# shellcheck disable=SC2086
	${CC:-cc} $CCF -DVERSION='"regress"' -o "$T/$h-check" \
	    "$F/$h-fuzz.c" "$F/standalone.c" $COMMON $LIBS >"$T/cc.log" 2>&1
	check "cc builds the $h harness" test -x "$T/$h-check" ||
	    diag "$(head -n 20 "$T/cc.log")"
done

for f; do
	[ -f "$f" ] || continue
	n=${f#"$F/"}
	check "xmpp-parse: $n: exit 0, 2 or 3, sane records" sane "$f"
	"$T/parse-check" "$f" >/dev/null 2>"$T/err"
	_st=$?
	[ $_st -eq 0 ] || diag "$(tail -n 4 "$T/err")"
	verdict $_st "parse harness: $n" "$f"
done
for f in "$F"/corpus/record/* "$F"/regress/record/*; do
	[ -f "$f" ] || continue
	"$T/record-check" "$f" >/dev/null 2>"$T/err"
	_st=$?
	[ $_st -eq 0 ] || diag "$(tail -n 4 "$T/err")"
	verdict $_st "record harness: ${f#"$F/"}" "$f"
done
