#!/usr/bin/python3
"""A real HTTP listener for serve_notify_test: on 127.0.0.1 at a port the OS picks, printed as
"PORT n" on stdout once it listens. Every POST's X-Restoreproof-Signature is checked against
HMAC-SHA256 of the body under the key in --key-file: a valid one is answered 204 and its body
written to --out as hook-N.json (with the event id beside it in hook-N.id); an invalid one is
answered 401 and counted in rejected.log. Runs until SIGTERM.
"""
import argparse
import hashlib
import hmac
import http.server
import os
import sys


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--key-file", required=True)
    args = parser.parse_args()
    key = open(args.key_file, "rb").read().rstrip(b"\r\n")
    count = [0]

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            want = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
            got = self.headers.get("X-Restoreproof-Signature", "")
            if not hmac.compare_digest(want, got):
                with open(os.path.join(args.out, "rejected.log"), "a") as log:
                    log.write(got + "\n")
                self.send_response(401)
                self.end_headers()
                return
            count[0] += 1
            base = os.path.join(args.out, "hook-%d" % count[0])
            with open(base + ".id", "w") as f:
                f.write(self.headers.get("X-Restoreproof-Event-Id", ""))
            with open(base + ".tmp", "wb") as f:
                f.write(body)
            os.rename(base + ".tmp", base + ".json")
            self.send_response(204)
            self.end_headers()

        def log_message(self, *unused):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    sys.stdout.write("PORT %d\n" % server.server_address[1])
    sys.stdout.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
