#!/usr/bin/env python3
"""The hub under hostile load, measured from outside: peak RSS growth of a `chanspec serve`
process (VmHWM after minus VmRSS before, from /proc) for
  slow:    N non-reading WebSockets + N non-reading SSE streams (small receive buffers, read
           once up to `subscribed`, then never) while M messages of S bytes are published;
  history: M messages of S bytes published into one channel's history, nobody subscribed.
Prints one RESULT line. Standard library only.
Usage: probe.py slow|history hub=HOST:PORT pid=PID token=T channel=C key=K [n=20 m=1500 size=10240]
"""
import base64, http.client, json, os, socket, sys, time

args = dict(a.split("=", 1) for a in sys.argv[2:])
mode = sys.argv[1]
host, port = args["hub"].rsplit(":", 1)
port = int(port)
pid = args["pid"]


def status(field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])


def small_socket():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect((host, port))
    return s


def read_until(s, needle):
    got = b""
    while needle not in got:
        chunk = s.recv(4096)
        if not chunk:
            raise SystemExit(f"connection closed before {needle!r}: {got[:200]!r}")
        got += chunk
    return got


def ws_subscriber(token):
    s = small_socket()
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(
        f"GET /v1/ws HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    read_until(s, b"\r\n\r\n")
    payload = json.dumps({"type": "subscribe", "id": 1, "token": token}).encode()
    mask = os.urandom(4)
    header = bytes([0x81])
    n = len(payload)
    header += bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + n.to_bytes(2, "big")
    s.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
    read_until(s, b"subscribed")
    return s


def sse_subscriber(token):
    s = small_socket()
    s.sendall(f"GET /v1/sse?token={token} HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n".encode())
    read_until(s, b"subscribed")
    return s


def publish_all(m, size, channel):
    conn = http.client.HTTPConnection(host, port)
    filler = "x" * size
    headers = {"Authorization": f"Bearer {args['key']}", "Content-Type": "application/json"}
    for i in range(m):
        body = json.dumps({"channel": channel, "topic": "tokens", "data": {"token": f"{i} {filler}"}})
        conn.request("POST", "/v1/publish", body, headers)
        r = conn.getresponse()
        r.read()
        if r.status != 200:
            raise SystemExit(f"publish {i}: HTTP {r.status}")


def metric(name):
    conn = http.client.HTTPConnection(host, port)
    conn.request("GET", "/metrics")
    for line in conn.getresponse().read().decode().splitlines():
        if line.startswith(name + " "):
            return line.split()[1]
    return "?"


n, m, size = int(args.get("n", 20)), int(args.get("m", 1500)), int(args.get("size", 10240))
before = status("VmRSS")
held = []
if mode == "slow":
    held = [ws_subscriber(args["token"]) for _ in range(n)] + [sse_subscriber(args["token"]) for _ in range(n)]
publish_all(m, size, args["channel"])
time.sleep(1)
peak, after = status("VmHWM"), status("VmRSS")
payload_kb = m * size // 1024
print(
    f"RESULT mode={mode} n={n} msgs={m} size={size} payload_kb={payload_kb} rss_before_kb={before} "
    f"peak_kb={peak} rss_after_kb={after} growth_kb={peak - before} growth_per_payload={(peak - before) / payload_kb:.2f} "
    f"slow_consumer_disconnects={metric('chanspec_slow_consumer_disconnects_total')}"
)
for s in held:
    s.close()
