#!/bin/sh
# echo.sh - a bot in POSIX sh: every message comes back to its sender
#
#	echobot.sh bot@example.org -x examples/echo.sh
#
# A record (xmpp-record(5)) is a line of TAB-separated items; the body
# is the text item after "(body".  Escaped text copied into a record is
# a correct item there, so the bot neither decodes nor escapes.
tab=$(printf '\t')
set -f
while IFS= read -r line; do
	IFS=$tab
	set -- $line
	unset IFS
	[ "$1" = message ] || continue
	depth=0 elem= to= type= body=
	for item; do
		case $depth$item in
		0@from=*) to=${item#@from=} ;;
		0@type=*) type=${item#@type=} ;;
		1-*) [ "$elem" = '(body' ] && [ -z "$body" ] && body=$item ;;
		esac
		case $item in
		'('*) depth=$((depth + 1)) elem=$item ;;
		')') depth=$((depth - 1)) elem= ;;
		esac
	done
	case $type in ''|chat|normal) ;; *) continue ;; esac
	[ -n "$to" ] && [ -n "$body" ] || continue
	printf 'message\txmlns=jabber:client\t@to=%s%s\t(body\t%s\t)\n' \
	    "$to" "${type:+$tab@type=$type}" "$body"
done
