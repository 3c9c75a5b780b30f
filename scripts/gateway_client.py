#!/usr/bin/env python3
"""A minimal customs-gateway TCP client (PROTOCOL.md), standard library only.

usage: gateway_client.py HOST:PORT PLATFORM TOKEN_FILE [--tls-ca PEM] FILE...
Submits every FILE pipelined (id = SHA-256 of its bytes), prints each ACK as
one JSON line; exit 0 if all were accepted, 1 if any was refused, 2 on error.
"""
import hashlib, json, socket, ssl, struct, sys

def send(sock, header, body=b""):
    payload = json.dumps(header).encode() + b"\n" + body
    sock.sendall(struct.pack(">I", len(payload)) + payload)

def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("the gateway closed the connection")
        buf += chunk
    return buf

def recv(sock):
    (n,) = struct.unpack(">I", recv_exact(sock, 4))
    header, _, body = recv_exact(sock, n).partition(b"\n")
    return json.loads(header), body

def main(argv):
    args, ca = list(argv), None
    if "--tls-ca" in args:
        i = args.index("--tls-ca"); ca = args[i + 1]; del args[i:i + 2]
    addr, platform, token_file, files = args[0], args[1], args[2], args[3:]
    host, port = addr.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=30)
    if ca:
        sock = ssl.create_default_context(cafile=ca).wrap_socket(sock, server_hostname=host)
    token = open(token_file).read().strip()
    send(sock, {"type": "HELLO", "versions": [1], "platform": platform, "token": token, "receipts": False})
    welcome, _ = recv(sock)
    if welcome["type"] != "WELCOME":
        print(json.dumps(welcome)); return 2
    window, pending, refused = welcome["max_in_flight"], {}, False
    queue = [(hashlib.sha256(b).hexdigest(), f, b) for f in files for b in [open(f, "rb").read()]]
    while queue or pending:
        while queue and len(pending) < window:  # pipelined: no wait per message
            mid, f, body = queue.pop(0); pending[mid] = f
            send(sock, {"type": "SUBMIT", "id": mid}, body)
        frame, _ = recv(sock)
        if frame["type"] == "ERROR":
            print(json.dumps(frame)); return 2
        if frame["type"] == "ACK":
            refused |= frame["stored"]["result"] == "refused"
            print(json.dumps({"file": pending.pop(frame["id"]), **frame}, ensure_ascii=False))
    sock.close()
    return 1 if refused else 0

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
