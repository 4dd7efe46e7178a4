"""Serves an OpenStack WSGI application with a threaded wsgiref server on one address.

usage: wsgi_serve.py --host 127.0.0.1 --port 5000 --app module:factory [--factory-arg X]
"""
import argparse
import importlib
import socketserver
import sys
import wsgiref.simple_server as wss


class ThreadingWSGIServer(socketserver.ThreadingMixIn, wss.WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class QuietHandler(wss.WSGIRequestHandler):
    def address_string(self):
        return self.client_address[0]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--app", required=True)
    p.add_argument("--factory-arg")
    args, rest = p.parse_known_args()
    sys.argv = [sys.argv[0]] + [a for a in rest if a != "--"]
    module, func = args.app.split(":")
    factory = getattr(importlib.import_module(module), func)
    app = factory(args.factory_arg) if args.factory_arg else factory()
    server = wss.make_server(args.host, args.port, app, server_class=ThreadingWSGIServer, handler_class=QuietHandler)
    print(f"serving {args.app} on http://{args.host}:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
