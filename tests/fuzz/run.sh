#!/bin/sh
# run.sh [seconds] - build the fuzzers and run each for seconds (60)
#
# libFuzzer harnesses (clang -fsanitize=fuzzer,address,undefined) first
# replay tests/fuzz/regress, then fuzz a copy of the seed corpus; AFL++
# fuzzes the xmpp-parse binary on stdin when afl-fuzz is installed.
# Everything written goes under $FUZZDIR (default: a new temp dir), never
# into the repository.  Exits 1 when a harness found a crash, a leak or a
# broken invariant, naming the reproducer; 2 when a build failed.
# The harnesses skip the issues listed in regress/TODO (-DSKIP_KNOWN)
# unless FUZZSTRICT=1.

secs=${1:-60}
case $secs in ''|*[!0-9]*) echo "usage: run.sh [seconds]" >&2; exit 2;; esac
cd "$(dirname "$0")/../.." || exit 2
TOP=$(pwd)
F=$TOP/tests/fuzz
W=${FUZZDIR:-$(mktemp -d "${TMPDIR:-/tmp}/echobot-fuzz.XXXXXX")} || exit 2
mkdir -p "$W/bin" || exit 2
echo "run.sh: output in $W"

CLANG=${CLANG:-clang}
# what the installed expat offers (common/config.sh)
make -s common/config.h || exit 2
FLAGS="-std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
    -Icommon $(pkg-config --cflags libbsd-overlay) -g -O1"
LIBS=$(pkg-config --libs expat libbsd-overlay)
COMMON="common/buf.c common/record.c common/xml.c common/sandbox.c"
SAN="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
[ "${FUZZSTRICT:-0}" = 1 ] || SAN="$SAN -DSKIP_KNOWN"
found=0

if ! command -v "$CLANG" >/dev/null ||
    ! echo 'int LLVMFuzzerTestOneInput(void){return 0;}' |
    "$CLANG" -fsanitize=fuzzer -x c -o "$W/bin/probe" - 2>/dev/null; then
	echo "run.sh: $CLANG -fsanitize=fuzzer does not work" \
	    "(apt-get install clang libclang-rt-14-dev)" >&2
	exit 2
fi

# libfuzz NAME: build, replay regress/NAME, fuzz a copy of corpus/NAME
libfuzz() {
	_n=$1
	# shellcheck disable=SC2086
	$CLANG $FLAGS -DVERSION='"fuzz"' $SAN -o "$W/bin/$_n-fuzz" \
	    "$F/$_n-fuzz.c" $COMMON $LIBS || exit 2
	mkdir -p "$W/$_n/corpus" "$W/$_n/crashes"
	cp "$F/corpus/$_n/"* "$W/$_n/corpus/"
	for _f in "$F/regress/$_n/"*; do
		[ -f "$_f" ] || continue
		if ! "$W/bin/$_n-fuzz" "$_f" >"$W/$_n/regress.log" 2>&1; then
			found=1
			echo "run.sh: $_n-fuzz: regression: $_f" \
			    "(log: $W/$_n/regress.log)" >&2
		fi
	done
	(cd "$W/$_n" && "$W/bin/$_n-fuzz" -max_total_time="$secs" \
	    -max_len=16384 -timeout=10 -print_final_stats=1 \
	    -dict="$F/$_n.dict" \
	    -artifact_prefix="$W/$_n/crashes/" corpus >fuzz.log 2>&1)
	_st=$?
	grep -E '^(stat::|#[0-9]+[[:space:]]+DONE)' "$W/$_n/fuzz.log" |
	    sed "s/^/$_n: /"
	for _f in "$W/$_n/crashes/"*; do
		[ -f "$_f" ] || continue
		found=1
		echo "run.sh: $_n-fuzz: reproducer $_f" \
		    "(log: $W/$_n/fuzz.log)" >&2
	done
	if [ "$_st" -ne 0 ] && [ "$found" -eq 0 ]; then
		found=1
		echo "run.sh: $_n-fuzz: exit $_st (log: $W/$_n/fuzz.log)" >&2
	fi
}

libfuzz record
libfuzz parse

# AFL++ on the binary itself: the parser as it runs, stdin and all.
if command -v afl-fuzz >/dev/null && command -v afl-clang-fast >/dev/null
then
	# shellcheck disable=SC2086
	AFL_QUIET=1 afl-clang-fast $FLAGS -DVERSION='"afl"' \
	    -o "$W/bin/xmpp-parse-afl" \
	    xmpp-parse/xmpp-parse.c xmpp-parse/skip.c $COMMON $LIBS || exit 2
	mkdir -p "$W/afl/in"
	# AFL++ wants small seeds: the session recordings and the edge cases.
	find "$F/corpus/parse" -type f -size -8k -exec cp {} "$W/afl/in/" \;
	AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 \
	    AFL_NO_UI=1 AFL_NO_AFFINITY=1 \
	    afl-fuzz -i "$W/afl/in" -o "$W/afl/out" -V "$secs" \
	    -x "$F/parse.dict" \
	    -- "$W/bin/xmpp-parse-afl" >"$W/afl/fuzz.log" 2>&1
	_st=$?
	grep -E '^(run_time|execs_done|execs_per_sec|saved_crashes|saved_hangs)' \
	    "$W/afl/out/default/fuzzer_stats" 2>/dev/null | sed 's/^/afl: /'
	for _f in "$W/afl/out/default/crashes/"id*; do
		[ -f "$_f" ] || continue
		found=1
		echo "run.sh: afl: reproducer $_f" >&2
	done
	# afl-fuzz refuses some machines (shared memory, core_pattern):
	# that is no finding, but say so.
	if [ "$_st" -ne 0 ] && [ ! -f "$W/afl/out/default/fuzzer_stats" ]
	then
		echo "run.sh: afl-fuzz did not start, AFL++ skipped:" >&2
		tail -n 5 "$W/afl/fuzz.log" >&2
	elif [ "$_st" -ne 0 ]; then
		found=1
		echo "run.sh: afl-fuzz: exit $_st (log: $W/afl/fuzz.log)" >&2
	fi
else
	echo "run.sh: afl-fuzz not installed, AFL++ skipped" \
	    "(apt-get install afl++)"
fi

[ "$found" -eq 0 ] || exit 1
echo "run.sh: no crash found"
