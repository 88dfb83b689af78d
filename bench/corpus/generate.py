#!/usr/bin/env python3
"""chanspec's own benchmark corpus: realtime channel definitions, deterministic per seed.

Shape (the same as the benchmark corpus of earlier figures, so they stay comparable):
CHANNELS channels x 5 topics, each topic one payload schema in `$defs`:
  - objects of 3-15 properties, 60% of them required, nested objects up to depth 3,
    arrays of scalars or objects, string enums, string consts, nullable scalars
    (`type: [T, "null"]`), a description on about a quarter of the properties;
  - ~10% of payloads are a `oneOf` of 2-5 objects tagged by a required `kind` const;
  - ~20% of payloads `$ref` twelve shared definitions (points, money, pagination, ...).

Writes into --out:
  chanspec.json        the definition: channel0000..channelNNNN named "channelNNNN:{id}"
                       (a string param `id`), topics status, metrics, events, presence,
                       commands, each `$ref` to its payload in `$defs`
  chanspec_small.json  the same for the first --small payloads
  bundle.json          the payloads as one JSON Schema for peer generators
                       ({$defs: every payload and shared def, oneOf: [$ref to each payload]})
  bundle_small.json    the same for the first --small payloads
  stats.json           counts of what was generated

Usage: bench/corpus/generate.py --out target/corpus [--seed 7] [--channels 1000] [--small 50]
"""
import argparse
import json
import os
import random

TOPICS = ("status", "metrics", "events", "presence", "commands")
SCALARS = ("string", "integer", "number", "boolean")

# Words joined into property names: `<noun>` or `<noun>_<suffix>`.
NOUNS = """
user session device room message request trace account org project job task run node
region zone host step phase stage state level priority severity category source target
title label summary body text reason detail note url path method code count total limit
offset page size width height depth duration latency elapsed timeout interval retry
attempt sequence version revision checksum digest cursor locale timezone temperature
humidity pressure voltage power battery signal cpu memory disk load throughput score
rating weight price amount quantity ratio percent threshold owner author sender
recipient location position viewport bounds range tags labels items entries samples
points members participants metadata attributes settings config context stats
""".split()
SUFFIXES = ("id", "ms", "at", "count", "name", "kind_label", "ref", "total")
FLAGS = "enabled active online visible muted pinned archived verified typing dirty".split()

ENUMS = (
    ("queued", "running", "succeeded", "failed", "cancelled"),
    ("low", "normal", "high", "urgent"),
    ("online", "away", "busy", "offline"),
    ("created", "updated", "deleted"),
    ("ios", "android", "web", "desktop", "cli"),
    ("asc", "desc"),
    ("text", "image", "video", "audio", "file"),
    ("green", "amber", "red"),
    ("viewer", "editor", "owner"),
    ("idle", "busy", "draining", "stopped", "unknown"),
    ("joined", "left", "kicked"),
    ("metric", "imperial"),
)
CONSTS = ("v1", "v2", "realtime", "2026-01-01", "push")
KINDS = """
started progressed completed failed cancelled retried joined left updated removed
created paused resumed expired acknowledged rejected
""".split()


def shared_defs():
    req = lambda props, required: {"type": "object", "properties": props, "required": required}
    s, i, n, b = ({"type": t} for t in SCALARS)
    return {
        "geo_point": {**req({"lat": n, "lon": n, "alt": {"type": ["number", "null"]}}, ["lat", "lon"]),
                      "description": "A WGS84 coordinate."},
        "user_ref": req({"id": s, "display_name": s, "role": {"type": "string", "enum": ["owner", "member", "guest"]}}, ["id"]),
        "money": req({"amount": {"type": "integer", "description": "Minor units."},
                      "currency": {"type": "string", "enum": ["USD", "EUR", "GBP", "JPY"]}}, ["amount", "currency"]),
        "severity": {"type": "string", "enum": ["debug", "info", "warn", "error", "fatal"]},
        "pagination": req({"cursor": {"type": ["string", "null"]}, "limit": i, "has_more": b}, ["limit", "has_more"]),
        "error_info": req({"code": i, "message": s, "retryable": b}, ["code", "message"]),
        "device_info": req({"device_id": s, "platform": {"type": "string", "enum": ["ios", "android", "web"]},
                            "app_version": s, "os_version": {"type": ["string", "null"]}}, ["device_id", "platform"]),
        "trace_context": req({"trace_id": s, "span_id": s, "sampled": b}, ["trace_id", "span_id"]),
        "tag": req({"key": s, "value": s}, ["key", "value"]),
        "range": req({"min": n, "max": n}, ["min", "max"]),
        "semver": req({"major": i, "minor": i, "patch": i}, ["major", "minor", "patch"]),
        "channel_ref": req({"channel": s, "topic": {"type": "string", "enum": list(TOPICS)}}, ["channel", "topic"]),
    }


class Corpus:
    def __init__(self, seed, shared):
        self.rng = random.Random(seed)
        self.shared = sorted(shared)
        self.stats = {k: 0 for k in ("properties", "objects", "arrays", "enums", "consts", "nullables",
                                     "refs", "ref_payloads", "oneof_payloads", "variants")}

    def names(self, n, taken=()):
        out = []
        while len(out) < n:
            noun = self.rng.choice(NOUNS)
            roll = self.rng.random()
            name = noun if roll < 0.5 else ("is_" + self.rng.choice(FLAGS) if roll < 0.6 else
                                             noun + "_" + self.rng.choice(SUFFIXES))
            if name not in out and name not in taken:
                out.append(name)
        return out

    def ref(self):
        self.stats["refs"] += 1
        return {"$ref": "#/$defs/" + self.rng.choice(self.shared)}

    def value(self, depth, refs):
        r, roll = self.rng, self.rng.random()
        if refs and roll < 0.12:
            target = self.ref()
            if r.random() < 0.25:
                self.stats["arrays"] += 1
                return {"type": "array", "items": target}
            return target
        roll = r.random()
        for limit, kind in ((0.25, "string"), (0.40, "integer"), (0.52, "number"), (0.62, "boolean")):
            if roll < limit:
                return {"type": kind}
        if roll < 0.70:
            self.stats["enums"] += 1
            return {"type": "string", "enum": list(r.choice(ENUMS))}
        if roll < 0.72:
            self.stats["consts"] += 1
            return {"type": "string", "const": r.choice(CONSTS)}
        if roll < 0.80:
            self.stats["nullables"] += 1
            return {"type": [r.choice(SCALARS), "null"]}
        if roll < 0.87:
            self.stats["arrays"] += 1
            return {"type": "array", "items": {"type": r.choice(SCALARS)}}
        if depth < 3 and roll < 0.92:
            self.stats["arrays"] += 1
            return {"type": "array", "items": self.object(depth + 1, 2, 6, refs)}
        if depth < 3:
            return self.object(depth + 1, 2, 8, refs)
        return {"type": "string"}

    def object(self, depth, low, high, refs, taken=()):
        self.stats["objects"] += 1
        props = {}
        for name in self.names(self.rng.randint(low, high), taken):
            self.stats["properties"] += 1
            prop = self.value(depth, refs)
            if self.rng.random() < 0.25:
                prop = {**prop, "description": "Field %s, generated (%d)." % (name, self.rng.randrange(10**5))}
            props[name] = prop
        node = {"type": "object", "properties": props}
        required = [k for k in props if self.rng.random() < 0.6]
        if required:
            node["required"] = required
        return node

    def payload(self, name):
        refs = self.rng.random() < 0.20
        self.stats["ref_payloads"] += refs
        if self.rng.random() < 0.10:
            self.stats["oneof_payloads"] += 1
            variants = []
            for kind in self.rng.sample(KINDS, self.rng.randint(2, 5)):
                self.stats["variants"] += 1
                o = self.object(1, 2, 7, refs, taken=("kind",))
                o["properties"] = {"kind": {"type": "string", "const": kind}, **o["properties"]}
                o["required"] = ["kind"] + o.get("required", [])
                variants.append(o)
            node = {"oneOf": variants}
        else:
            node = self.object(1, 3, 15, refs)
        if refs and '"$ref"' not in json.dumps(node):
            first = node["oneOf"][0] if "oneOf" in node else node
            first["properties"]["trace"] = self.ref()
        return {"description": "Payload of the realtime topic `%s`." % name, **node}


def used_refs(node, out):
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            out.add(node["$ref"].rsplit("/", 1)[1])
        for v in node.values():
            used_refs(v, out)
    elif isinstance(node, list):
        for v in node:
            used_refs(v, out)
    return out


def documents(payloads, shared):
    used = set()
    for p in payloads.values():
        used_refs(p, used)
    defs = {k: shared[k] for k in sorted(shared) if k in used}
    defs.update(payloads)
    channels = {}
    for key in payloads:
        chan, topic = key.split("_", 1)
        c = channels.setdefault(chan, {"name": chan + ":{id}", "params": {"id": {"type": "string"}}, "topics": {}})
        c["topics"][topic] = {"schema": {"$ref": "#/$defs/" + key}}
    definition = {"chanspec": 1, "channels": channels, "$defs": defs}
    bundle = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$defs": defs,
              "oneOf": [{"$ref": "#/$defs/" + k} for k in payloads]}
    return definition, bundle


def write(path, value):
    with open(path, "w") as f:
        json.dump(value, f, indent=1)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--channels", type=int, default=1000)
    ap.add_argument("--small", type=int, default=50)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    shared = shared_defs()
    corpus = Corpus(a.seed, shared)
    payloads = {}
    for c in range(a.channels):
        for t in TOPICS:
            key = "channel%04d_%s" % (c, t)
            payloads[key] = corpus.payload(key)
    small = dict(list(payloads.items())[: a.small])
    for suffix, subset in (("", payloads), ("_small", small)):
        definition, bundle = documents(subset, shared)
        write(os.path.join(a.out, "chanspec%s.json" % suffix), definition)
        write(os.path.join(a.out, "bundle%s.json" % suffix), bundle)
    corpus.stats["payloads"] = len(payloads)
    write(os.path.join(a.out, "stats.json"), corpus.stats)
    print(json.dumps(corpus.stats))


if __name__ == "__main__":
    main()
