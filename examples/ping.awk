# ping.awk - a bot in awk: "ping" gets "pong", any other message comes
# back as it was sent
#
#	echobot.sh bot@example.org -x 'mawk -W interactive -f ping.awk'
#
# mawk, Debian's awk, needs -W interactive: else it reads its input a
# block at a time and the bot waits, silent, for messages that have
# come already.  With gawk or BWK awk: -x 'awk -f ping.awk'.  Every
# awk needs the fflush() after print: a pipe is block-buffered.
#
# xmpp-record(5): items are TAB-separated, values and text escaped.  An
# escaped value copied into a record is a correct value there: this bot
# never decodes, so never needs to escape.
BEGIN { FS = OFS = "\t" }
$1 == "message" {
	to = ""; type = ""; body = ""
	# The message's own attributes come before its first child.
	for (i = 2; i <= NF && substr($i, 1, 1) != "("; i++) {
		if ($i ~ /^@from=/) to = "@to=" substr($i, 7)
		if ($i ~ /^@type=/) type = OFS $i
	}
	# Its body: "(body" then a text item, not inside another child.
	for (depth = 0; i < NF; i++) {
		if ($i == "(body" && depth == 0) {
			if ($(i + 1) ~ /^-/) body = $(i + 1)
			break
		}
		if ($i ~ /^\(/) depth++
		if ($i == ")") depth--
	}
	if (to == "" || body == "" ||
	    (type != "" && type !~ /^\t@type=(chat|normal)$/))
		next
	if (body == "-ping")
		body = "-pong"
	print "message", "xmlns=jabber:client", to type, "(body", body, ")"
	fflush()
}
