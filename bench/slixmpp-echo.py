# slixmpp-echo.py -t plain|starttls|direct [-C cafile] host port jid passfile
#
# The echo bot written with slixmpp, as a baseline: initial presence,
# every chat or normal message with a body echoed; no roster fetch, like
# xmpp-echo.  Run by /usr/bin/python3 (Debian's slixmpp).
import argparse
import logging

import slixmpp


class Echo(slixmpp.ClientXMPP):
    def __init__(self, jid, password):
        super().__init__(jid, password)
        self.add_event_handler("session_start", self.start)
        self.add_event_handler("message", self.message)

    def start(self, event):
        self.send_presence()

    def message(self, msg):
        if msg["type"] in ("chat", "normal") and msg["body"]:
            msg.reply(msg["body"]).send()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-t", default="starttls", choices=("plain", "starttls", "direct"))
    ap.add_argument("-C")
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("jid")
    ap.add_argument("passfile")
    a = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    with open(a.passfile) as f:
        password = f.readline().rstrip("\n")
    bot = Echo(a.jid, password)
    if a.C:
        bot.ca_certs = a.C
    if a.t == "plain":
        bot.connect((a.host, a.port), disable_starttls=True)
    elif a.t == "direct":
        bot.connect((a.host, a.port), use_ssl=True)
    else:
        bot.connect((a.host, a.port), force_starttls=True)
    bot.loop.run_forever()


main()
