#!/usr/bin/python3
"""make_corpus.py PROTO_DIR OUT_DIR -- seed corpora for the fuzz harnesses.

vstream/: every VStreamResponse of the test VTGate's scenarios
(test/vtgate_sim/scenarios/*.json) and of the real captures
(test/vitess/captures/real-vstream-sample.txt, protobuf text, one VEvent per
line grouped by response; /work/shared/captures when present is not protobuf
and is skipped), serialized.  grpc/: the same messages framed (flag 0,
4-byte length), several per input, with a frame-size byte before each
chunk as fuzz_grpc.c reads it."""
import glob, json, os, re, subprocess, sys, tempfile

proto_dir, out = sys.argv[1], sys.argv[2]
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
gen = tempfile.mkdtemp()
subprocess.check_call(["protoc", "--python_out=" + gen, "-I" + proto_dir] + glob.glob(proto_dir + "/*.proto"))
sys.path.insert(0, gen)
import binlogdata_pb2, vtgate_pb2                      # noqa: E402
from google.protobuf import json_format, text_format   # noqa: E402

msgs = []

def cells(o):
    """the test VTGate's readable rows ({"cells": [...]}) as query.Row JSON"""
    import base64
    if isinstance(o, dict):
        if "cells" in o:
            lengths, vals = [], b""
            for c in o["cells"]:
                if c is None:
                    lengths.append(-1)
                    continue
                if isinstance(c, dict):
                    b = bytes.fromhex(c["hex"]) if "hex" in c else base64.b64decode(c["b64"])
                else:
                    b = str(c).encode()
                lengths.append(len(b))
                vals += b
            return {"lengths": [str(x) for x in lengths], "values": base64.b64encode(vals).decode()}
        return {k: cells(v) for k, v in o.items()}
    if isinstance(o, list):
        return [cells(x) for x in o]
    return o

for f in sorted(glob.glob(os.path.join(root, "test/vtgate_sim/scenarios/*.json"))):
    sc = json.load(open(f))
    for r in (sc["responses"] if isinstance(sc, dict) else sc):
        if "events" not in r:
            continue
        resp = vtgate_pb2.VStreamResponse()
        json_format.ParseDict({"events": cells(r["events"])}, resp, ignore_unknown_fields=True)
        msgs.append(resp.SerializeToString())

cap = os.path.join(root, "test/vitess/captures/real-vstream-sample.txt")
if os.path.exists(cap):
    groups = {}
    for line in open(cap):
        m = re.match(r"\s*[\d.]+\s+r(\d+)\s+(.*)$", line)
        if not m:
            continue
        ev = binlogdata_pb2.VEvent()
        try:
            text_format.Parse(m.group(2), ev)
        except text_format.ParseError:
            continue
        groups.setdefault(int(m.group(1)), []).append(ev)
    for k in sorted(groups):
        resp = vtgate_pb2.VStreamResponse()
        resp.events.extend(groups[k])
        msgs.append(resp.SerializeToString())

os.makedirs(os.path.join(out, "vstream"), exist_ok=True)
os.makedirs(os.path.join(out, "grpc"), exist_ok=True)
seen = set()
for i, m in enumerate(msgs):
    if m in seen:
        continue
    seen.add(m)
    open(os.path.join(out, "vstream", "seed%04d" % i), "wb").write(m)
for i in range(0, len(msgs), 3):
    framed = b"".join(b"\x00" + len(m).to_bytes(4, "big") + m for m in msgs[i:i + 3])
    data, off = b"\x00", 0
    while off < len(framed):
        n = min(len(framed) - off, 200)
        data += bytes([n - 1]) + framed[off:off + n]
        off += n
    open(os.path.join(out, "grpc", "seed%04d" % i), "wb").write(data)
print("%d messages -> %s" % (len(seen), out))
