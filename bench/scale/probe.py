#!/usr/bin/env python3
"""The scale benchmark's load and measurements (scripts/bench-scale runs it). Standard library only.

  probe.py run hubs=HOST:PORT,... pids=PID,... redis=HOST:PORT,... secret=S key=K
               [channels=1000 rate=1000 seconds=10 conns=16 offset=0 drain=10]
      Subscribes one WebSocket per channel `pipeline:00000000-0000-4000-8000-<i>`, channel i on
      hub i mod H (tokens minted here, HS256), then publishes rate*seconds messages at a fixed
      rate, channels round-robin, message k to hub (channel + offset) mod H over `conns`
      keep-alive HTTP connections. Over the window (first publish to last delivery, or `drain`
      seconds after the last publish) it measures per hub: the deltas of its /metrics counters
      (chanspec_broker_messages_total, `?` while the hub has none), its CPU (utime+stime from
      /proc), the bytes it read on its Redis connections that hold subscriptions (`ss -tinp`
      matched with CLIENT LIST: a measure independent of the hub's own counters), and the
      messages its subscribers got; and each Redis node's CPU (INFO cpu). Prints a RESULT line
      per hub and a SUMMARY line.
  probe.py report FILE
      From the RESULT and SUMMARY lines in FILE: a table per hub count, the ratio of total hub
      CPU to the 1-hub run, and the verdict against the targets.
"""
import asyncio, base64, hashlib, hmac, json, os, re, subprocess, sys, time, urllib.request

TICK = os.sysconf("SC_CLK_TCK")
TARGET_SHARE, TARGET_CPU_RATIO = 30.0, 1.3  # with 4 hubs: inbound share % per hub; total hub CPU vs 1 hub


def b64(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=")


def mint(secret, channel, ttl=7200):
    """An HS256 token with the claims `chanspec token` puts in (runtime/src/protocol.rs Claims)."""
    now = int(time.time())
    claims = {"chan": channel, "topics": ["tokens"], "exp": now + ttl, "iat": now, "jti": os.urandom(16).hex()}
    signing = b64(b'{"typ":"JWT","alg":"HS256"}') + b"." + b64(json.dumps(claims, separators=(",", ":")).encode())
    return (signing + b"." + b64(hmac.new(secret.encode(), signing, hashlib.sha256).digest())).decode()


def channel_name(i):
    return f"pipeline:00000000-0000-4000-8000-{i + 1:012x}"


# ---- measurements outside the hub --------------------------------------------------------

def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime (fields 14 and 15)


def metrics(hub):
    with urllib.request.urlopen(f"http://{hub}/metrics", timeout=5) as r:
        text = r.read().decode()
    return {m[0]: float(m[1]) for m in re.findall(r"^(chanspec_\w+) ([0-9.eE+-]+)$", text, re.M)}


def redis_info(node, section):
    host, port = node.rsplit(":", 1)
    out = subprocess.run(["redis-cli", "-h", host, "-p", port, "info", section], capture_output=True, text=True, timeout=5)
    return dict(line.split(":", 1) for line in out.stdout.replace("\r", "").splitlines() if ":" in line)


def redis_pubsub_clients(nodes):
    """(client address, server address) of every connection subscribed to something, any node."""
    found = set()
    for node in nodes:
        host, port = node.rsplit(":", 1)
        out = subprocess.run(["redis-cli", "-h", host, "-p", port, "client", "list"], capture_output=True, text=True, timeout=5)
        for line in out.stdout.splitlines():
            c = dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
            if any(int(c.get(k, 0)) for k in ("sub", "psub", "ssub")):
                found.add((c["addr"], c["laddr"]))
    return found


def redis_connections(pids, redis_ports):
    """{(pid, local address, peer address): bytes received} for the pids' connections to Redis."""
    out = subprocess.run(["ss", "-tinpH", "state", "established"], capture_output=True, text=True).stdout
    conns, key = {}, None
    for line in out.splitlines():
        if not line[:1].isspace():  # a connection; its TCP info follows on the next line
            cols = line.split()
            m = re.search(r"pid=(\d+)", line)
            key = None
            if len(cols) >= 4 and m and m.group(1) in pids and cols[3].rsplit(":", 1)[-1] in redis_ports:
                key = (m.group(1), cols[2], cols[3])
        elif key:
            m = re.search(r"bytes_received:(\d+)", line)
            conns[key] = int(m.group(1)) if m else 0
    return conns


def snapshot(hubs, pids, nodes):
    redis_ports = {n.rsplit(":", 1)[1] for n in nodes}
    snap = {"t": time.monotonic(), "hub": [], "redis": {}, "conns": redis_connections(set(pids), redis_ports),
            "pubsub": redis_pubsub_clients(nodes)}
    for hub, pid in zip(hubs, pids):
        snap["hub"].append({"cpu": cpu_seconds(pid), "m": metrics(hub)})
    for node in nodes:
        cpu = redis_info(node, "cpu")
        snap["redis"][node] = float(cpu["used_cpu_sys"]) + float(cpu["used_cpu_user"])
    return snap


def pubsub_rx(before, after, pid):
    """Bytes pid read over the window on its Redis connections that hold subscriptions."""
    pubsub = before["pubsub"] | after["pubsub"]
    return sum(n - before["conns"].get(k, 0) for k, n in after["conns"].items() if k[0] == pid and k[1:] in pubsub)


# ---- WebSocket subscribers ----------------------------------------------------------------

def ws_frame(opcode, payload):
    mask = os.urandom(4)
    n = len(payload)
    head = bytes([0x80 | opcode]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + n.to_bytes(2, "big"))
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


async def ws_read(reader, writer):
    """The next text message (answering pings on the way); None at close."""
    message = b""
    while True:
        b0, b1 = await reader.readexactly(2)
        n = b1 & 0x7F
        if n == 126:
            n = int.from_bytes(await reader.readexactly(2), "big")
        elif n == 127:
            n = int.from_bytes(await reader.readexactly(8), "big")
        payload = await reader.readexactly(n)
        opcode = b0 & 0x0F
        if opcode == 9:
            writer.write(ws_frame(10, payload))
        elif opcode == 8:
            return None
        elif opcode in (0, 1, 2):
            message += payload
            if b0 & 0x80:
                return message


class Subscriber:
    def __init__(self, stats, hub_index, channel):
        self.stats, self.hub_index, self.channel = stats, hub_index, channel
        self.got = 0

    async def connect(self, hub, token):
        host, port = hub.rsplit(":", 1)
        self.reader, self.writer = await asyncio.open_connection(host, int(port))
        key = base64.b64encode(os.urandom(16)).decode()
        # No Sec-WebSocket-Protocol: one frame per WebSocket message.
        self.writer.write(
            f"GET /v1/ws HTTP/1.1\r\nHost: {hub}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            raise SystemExit(f"WebSocket upgrade refused by {hub}: {head[:100]!r}")
        self.writer.write(ws_frame(1, json.dumps({"type": "subscribe", "id": 1, "token": token}).encode()))
        frame = json.loads(await ws_read(self.reader, self.writer))
        if frame.get("type") != "subscribed":
            raise SystemExit(f"subscribe to {self.channel} on {hub}: {frame}")

    async def run(self):
        try:
            while (raw := await ws_read(self.reader, self.writer)) is not None:
                frame = json.loads(raw)
                if frame.get("type") == "message":
                    self.got += 1
                    self.stats["delivered"][self.hub_index] += 1
                    sent = self.stats["sent_at"].pop(frame["data"]["token"], None)
                    if sent is not None:
                        self.stats["latency"].append(time.perf_counter() - sent)
                else:
                    self.stats["other"][frame.get("type", "?")] = self.stats["other"].get(frame.get("type", "?"), 0) + 1
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        self.stats["closed"] += 1


# ---- HTTP publisher -------------------------------------------------------------------------

class Http:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, hub):
        self.hub, self.reader = hub, None

    async def post(self, path, body, key):
        if self.reader is None:
            host, port = self.hub.rsplit(":", 1)
            self.reader, self.writer = await asyncio.open_connection(host, int(port))
        self.writer.write(
            f"POST {path} HTTP/1.1\r\nHost: {self.hub}\r\nAuthorization: Bearer {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
        )
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
            m = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
            await self.reader.readexactly(int(m.group(1)) if m else 0)
            return int(head[9:12])
        except (asyncio.IncompleteReadError, ConnectionError):
            self.writer.close()
            self.reader = None
            return 0


async def publish(args, hubs, stats):
    total, rate, n_channels = args["total"], args["rate"], args["channels"]
    loop = asyncio.get_running_loop()
    t0 = loop.time() + 0.01
    next_k = 0
    expected = stats["expected"]

    async def worker():
        nonlocal next_k
        conns = {}
        while next_k < total:
            k, next_k = next_k, next_k + 1
            delay = t0 + k / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            c = k % n_channels
            h = (c + args["offset"]) % len(hubs)
            tag = f"m{k}"
            body = json.dumps({"channel": channel_name(c), "topic": "tokens", "data": {"token": tag}}).encode()
            conn = conns.setdefault(h, Http(hubs[h]))
            stats["sent_at"][tag] = time.perf_counter()
            status = await conn.post("/v1/publish", body, args["key"])
            if status == 200:
                expected[c] += 1
            else:
                stats["publish_errors"][status] = stats["publish_errors"].get(status, 0) + 1
        for conn in conns.values():
            if conn.reader is not None:
                conn.writer.close()

    await asyncio.gather(*(worker() for _ in range(args["conns"])))
    return loop.time() - t0


def pct(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


async def run(args):
    hubs, pids, nodes = args["hubs"].split(","), args["pids"].split(","), args["redis"].split(",")
    H = len(hubs)
    for k in ("channels", "rate", "seconds", "conns", "offset"):
        args[k] = int(args.get(k, {"channels": 1000, "rate": 1000, "seconds": 10, "conns": 16, "offset": 0}[k]))
    args["total"] = args["rate"] * args["seconds"]
    stats = {"delivered": [0] * H, "latency": [], "sent_at": {}, "other": {}, "closed": 0,
             "expected": [0] * args["channels"], "publish_errors": {}}
    subs = [Subscriber(stats, i % H, channel_name(i)) for i in range(args["channels"])]
    gate = asyncio.Semaphore(64)

    async def connect(sub):
        async with gate:
            await sub.connect(hubs[sub.hub_index], mint(args["secret"], sub.channel))

    t = time.monotonic()
    await asyncio.wait_for(asyncio.gather(*(connect(s) for s in subs)), 120)
    print(f"# {len(subs)} subscribers on {H} hub(s) in {time.monotonic() - t:.1f} s", file=sys.stderr)
    readers = [asyncio.create_task(s.run()) for s in subs]
    await asyncio.sleep(1)  # let the hubs' broker subscriptions settle

    cpu0 = os.times()
    before = await asyncio.to_thread(snapshot, hubs, pids, nodes)
    elapsed = await publish(args, hubs, stats)
    published = sum(stats["expected"])
    deadline = time.monotonic() + float(args.get("drain", 10))
    while sum(stats["delivered"]) < published and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    after = await asyncio.to_thread(snapshot, hubs, pids, nodes)
    probe_cpu = sum(os.times()[:2]) - sum(cpu0[:2])

    lost = sum(max(0, e - s.got) for e, s in zip(stats["expected"], subs))
    extra = sum(max(0, s.got - e) for e, s in zip(stats["expected"], subs))
    label = f"hubs={H} channels={args['channels']}"
    window = after["t"] - before["t"]
    for i in range(H):
        b, a = before["hub"][i], after["hub"][i]
        delta = lambda name: (f"{a['m'][name] - b['m'][name]:.0f}" if name in a["m"] and name in b["m"] else "?")
        inbound = delta("chanspec_broker_messages_total")
        share = f"{100 * int(inbound) / published:.1f}" if inbound != "?" and published else "?"
        rx = pubsub_rx(before, after, pids[i])
        print(
            f"RESULT {label} hub={i} published={published} broker_in={inbound} broker_in_pct={share} "
            f"pubsub_rx_kb={rx / 1024:.0f} pubsub_rx_bytes_per_msg={rx / max(published, 1):.1f} "
            f"messages_in={delta('chanspec_messages_in_total')} messages_out={delta('chanspec_messages_out_total')} "
            f"delivered={stats['delivered'][i]} cpu_s={a['cpu'] - b['cpu']:.2f}",
            flush=True,
        )
    redis_cpu = {n: after["redis"][n] - before["redis"][n] for n in nodes}
    masters = [n for n in nodes if redis_info(n, "replication").get("role") == "master"]
    master_cpu = ",".join(f"{n.rsplit(':', 1)[1]}:{redis_cpu[n]:.2f}" for n in masters)
    hub_cpu = sum(a["cpu"] - b["cpu"] for a, b in zip(after["hub"], before["hub"]))
    lat = stats["latency"]
    print(
        f"SUMMARY {label} published={published} target={args['total']} rate={args['rate']} "
        f"achieved_rate={published / elapsed:.0f} window_s={window:.1f} delivered={sum(stats['delivered'])} "
        f"lost={lost} extra={extra} publish_errors={sum(stats['publish_errors'].values())} "
        f"hub_cpu_s={hub_cpu:.2f} redis_cpu_s={sum(redis_cpu.values()):.2f} "
        f"redis_master_cpu_s={master_cpu} "
        f"probe_cpu_s={probe_cpu:.2f} p50_ms={1000 * pct(lat, 50):.1f} p99_ms={1000 * pct(lat, 99):.1f}",
        flush=True,
    )
    if stats["publish_errors"] or stats["other"] or stats["closed"]:
        print(f"# publish errors by status {stats['publish_errors']}, other frames {stats['other']}, "
              f"connections closed by the hub {stats['closed']}", file=sys.stderr)
    for task in readers:
        task.cancel()
    for s in subs:
        s.writer.close()


# ---- report ------------------------------------------------------------------------------------

def fields(line):
    return dict(kv.split("=", 1) for kv in line.split()[1:] if "=" in kv)


def report(path):
    hubs, summary = {}, {}
    for line in open(path):
        if line.startswith("RESULT "):
            d = fields(line)
            hubs.setdefault(int(d["hubs"]), []).append(d)
        elif line.startswith("SUMMARY "):
            d = fields(line)
            summary[int(d["hubs"])] = d
    base_cpu = float(summary[1]["hub_cpu_s"]) if 1 in summary else None
    base_rx = float(hubs[1][0]["pubsub_rx_bytes_per_msg"]) if 1 in hubs else None
    for h in sorted(summary):
        s = summary[h]
        ratio = f"{float(s['hub_cpu_s']) / base_cpu:.2f}x the 1-hub run" if base_cpu else "no 1-hub run"
        print(f"{h} hub(s): {s['published']} messages published ({s['achieved_rate']}/s of {s['rate']}/s), "
              f"{s['lost']} lost, {s['extra']} extra; hub CPU {s['hub_cpu_s']} s ({ratio}); "
              f"Redis CPU {s['redis_cpu_s']} s (masters {s['redis_master_cpu_s']}); "
              f"delivery p50 {s['p50_ms']} ms, p99 {s['p99_ms']} ms; probe CPU {s['probe_cpu_s']} s")
        for d in hubs.get(h, []):
            rx = f"{100 * float(d['pubsub_rx_bytes_per_msg']) / base_rx:.0f}% of the 1-hub run's" if base_rx else "?"
            print(f"  hub {d['hub']}: inbound from the broker {d['broker_in']} ({d['broker_in_pct']}% of published), "
                  f"read on its Redis pub/sub connections {d['pubsub_rx_kb']} KiB ({rx}), delivered {d['delivered']}, CPU {d['cpu_s']} s")
    top = 4  # the targets are for 4 hubs against 1
    if top not in summary:
        print(f"verdict: no {top}-hub run: no verdict")
        return
    shares = [d["broker_in_pct"] for d in hubs[top]]
    if "?" in shares:
        by_bytes = ""
        if base_rx:
            worst = max(100 * float(d["pubsub_rx_bytes_per_msg"]) / base_rx for d in hubs[top])
            by_bytes = f"; by bytes read on pub/sub connections, max {worst:.0f}% of the 1-hub run's per hub"
        print(f"verdict: inbound share at {top} hubs: unknown (no chanspec_broker_messages_total){by_bytes}, "
              f"target <= {TARGET_SHARE:.0f}%")
    else:
        worst = max(map(float, shares))
        print(f"verdict: inbound share at {top} hubs: max {worst:.1f}% of published per hub, target <= {TARGET_SHARE:.0f}%: "
              f"{'PASS' if worst <= TARGET_SHARE else 'FAIL'}")
    if base_cpu:
        ratio = float(summary[top]["hub_cpu_s"]) / base_cpu
        print(f"verdict: total hub CPU {top} hubs / 1 hub = {ratio:.2f}, target <= {TARGET_CPU_RATIO}: "
              f"{'PASS' if ratio <= TARGET_CPU_RATIO else 'FAIL'}")
    else:
        print("verdict: total hub CPU ratio: unknown (no 1-hub run)")


if __name__ == "__main__":
    if sys.argv[1:2] == ["report"]:
        report(sys.argv[2])
    elif sys.argv[1:2] == ["run"]:
        asyncio.run(run(dict(a.split("=", 1) for a in sys.argv[2:])))
    else:
        sys.exit(__doc__)
