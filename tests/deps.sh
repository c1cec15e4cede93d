#!/bin/sh
# deps.sh [demo | check | ci | bench] - install the Debian packages a job needs
#
# The one install path for `make demo`, `make check` and .ci/run: only
# what is missing is installed, nothing is upgraded, so every job builds
# against the packages a fresh machine already has (an `apt-get install`
# of an installed package by name would upgrade it, and hide a build that
# fails on the older one).  As root it installs; otherwise it prints the
# apt-get line and exits 1.

job=${1:-check}
# systemd and man-db: systemd-analyze verify of echobot@.service (0151).
# ejabberd: a second real server for the interoperability tests (0200-).
pkgs="prosody stunnel4 libexpat1-dev libbsd-dev nettle-dev python3-slixmpp
pkg-config make gcc libc6-dev openssl procps"
case $job in
demo)	;;
check)	pkgs="$pkgs mandoc valgrind perl util-linux bsdextrautils
	ca-certificates iproute2 dnsmasq-base systemd man-db ejabberd" ;;
ci)	pkgs="$pkgs mandoc valgrind perl util-linux bsdextrautils
	ca-certificates iproute2 dnsmasq-base systemd man-db clang
	libclang-rt-14-dev afl++ ejabberd" ;;
bench)	pkgs="$pkgs libstrophe-dev linux-perf" ;;	# bench/: the C baseline, perf
*)	echo "usage: deps.sh [demo | check | ci | bench]" >&2; exit 2 ;;
esac

command -v dpkg-query >/dev/null || {
	echo "deps.sh: not a Debian system; install the equivalents of:" >&2
	echo "    $pkgs" | tr '\n' ' ' >&2
	echo >&2
	exit 0
}

missing=
for p in $pkgs; do
	dpkg-query -W -f '${Status}\n' "$p" 2>/dev/null |
	    grep -q 'ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing packages; install them with:" >&2
	echo "    sudo apt-get install --no-upgrade$missing" >&2
	exit 1
fi
echo "deps.sh: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q </dev/null || exit 1
# Debian's maintainer scripts start the services they install (ejabberd,
# epmd, prosody); the tests run their own on ports they pick, so a
# policy-rc.d that denies every start (exit 101, see invoke-rc.d(8))
# stands during the install, unless the system has one already.
policy=/usr/sbin/policy-rc.d
ownpolicy=
if [ ! -e $policy ]; then
	printf '#!/bin/sh\n# deps.sh: no service starts during its install\nexit 101\n' \
	    >$policy && chmod 755 $policy && ownpolicy=1
fi
# --no-upgrade: a package named here that is somehow installed already
# stays at its version; dependencies are pulled only as needed.
apt-get install -y -q --no-upgrade $missing </dev/null
st=$?
[ -n "$ownpolicy" ] && rm -f $policy
[ $st -eq 0 ] || exit 1

# dnsmasq-base, not dnsmasq: the program alone, for tests/0021-dns.t's
# private name server, without the system service that would take port 53.

# Maintainer scripts start services through invoke-rc.d or
# deb-systemd-invoke, which both obey the policy-rc.d; a system Prosody
# or ejabberd started all the same would only be in the way: stopped.
for s in prosody ejabberd; do
	case $missing in
	*$s*)
		if [ -x /etc/init.d/$s ]; then
			/etc/init.d/$s stop </dev/null >/dev/null 2>&1 || true
		fi ;;
	esac
done
# ejabberd's postinst asks `ejabberdctl status` (and the init script's
# stop asks ejabberdctl too), whose Erlang node starts an epmd as the
# ejabberd user, a daemon on port 4369, and leaves it.  ejabberd was not
# installed before, so no other epmd runs as that user.
case $missing in
*ejabberd*)
	for p in $(pgrep -u ejabberd -x epmd); do kill "$p"; done ;;
esac
exit 0
