#!/usr/bin/python3
"""A real SMTP server for notify_test: aiosmtpd (Debian python3-aiosmtpd) on 127.0.0.1 at a
port the OS picks, printed as "PORT n" on stdout once it listens. Runs until SIGTERM.

Into --out it records every MAIL FROM as a line of mail.log and every accepted message as
msg-N.json (envelope, decoded headers and body, whether TLS and AUTH were used) with the raw
message beside it as msg-N.eml, all written before the server answers, so a client that has
its reply finds them. Recipients starting with
"reject" get 550. --cert/--key offer STARTTLS; --user/--password-file accept AUTH (over TLS
only, aiosmtpd's default).
"""
import argparse
import asyncio
import email
import email.policy
import json
import os
import signal
import ssl

from aiosmtpd.smtp import SMTP, AuthResult


class Handler:
    def __init__(self, out):
        self.out = out
        self.count = 0

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        with open(os.path.join(self.out, "mail.log"), "a", encoding="utf-8") as log:
            log.write(address + "\n")
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("reject"):
            return "550 5.1.1 <%s>: Recipient address rejected" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.content
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        header_lines = raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "from": str(msg["From"]),
            "to": str(msg["To"]),
            "subject": str(msg["Subject"]),
            "message_id": str(msg["Message-ID"]),
            "content_type": msg.get_content_type(),
            "charset": msg.get_content_charset(),
            "body": msg.get_content().replace("\r\n", "\n"),
            "seven_bit": all(b < 0x80 for b in raw),
            "longest_line": max(len(line) for line in raw.split(b"\r\n")),
            "header_lines": len(header_lines),
            "defects": [type(d).__name__ for d in msg.defects],
            "tls": session.ssl is not None,
            "auth_user": session.auth_data.decode() if isinstance(session.auth_data, bytes) else None,
        }
        self.count += 1
        path = os.path.join(self.out, "msg-%d.json" % self.count)
        with open(os.path.join(self.out, "msg-%d.eml" % self.count), "wb") as f:
            f.write(raw)
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            json.dump(record, f, ensure_ascii=False)
        os.rename(path + ".tmp", path)
        return "250 2.0.0 Message accepted for delivery"


class Authenticator:
    def __init__(self, user, password):
        self.user = user.encode()
        self.password = password.encode()

    def __call__(self, server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == self.user and auth_data.password == self.password
        if not ok:
            return AuthResult(success=False, handled=False)
        return AuthResult(success=True, auth_data=auth_data.login)


async def main(args):
    loop = asyncio.get_running_loop()
    handler = Handler(args.out)
    tls = None
    if args.cert:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(args.cert, args.key)
    authenticator = None
    if args.user:
        with open(args.password_file, encoding="utf-8") as f:
            authenticator = Authenticator(args.user, f.read().rstrip("\n"))

    def factory():
        return SMTP(handler, hostname="sink.test", tls_context=tls, authenticator=authenticator, loop=loop)

    server = await loop.create_server(factory, host="127.0.0.1", port=0)
    print("PORT %d" % server.sockets[0].getsockname()[1], flush=True)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    server.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--user")
    parser.add_argument("--password-file")
    asyncio.run(main(parser.parse_args()))
