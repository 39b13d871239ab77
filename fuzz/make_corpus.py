#!/usr/bin/python3
"""make_corpus.py PROTO_DIR OUT_DIR -- seed corpora for the fuzz harnesses.

vstream/: every VStreamResponse of the test VTGate's scenarios
(test/vtgate_sim/scenarios/*.json) and of the real captures
(test/vitess/captures/real-vstream-sample.txt, protobuf text, one VEvent per
line grouped by response; /work/shared/captures when present is not protobuf
and is skipped), serialized.  grpc/: the same messages framed (flag 0,
4-byte length), several per input, with a frame-size byte before each
chunk as fuzz_grpc.c reads it.

convert/: every cell of those messages with its FIELD (type, charset,
flags, decimals, column length, column type) in fuzz_backend.c's input
layout, for the natural mirror type and for a few other targets.  vgtid/:
the VGTIDs of those messages as JSON (the format create_stream() takes,
lastpk rows included) and the start positions the tests use."""
import glob, json, os, re, subprocess, sys, tempfile

proto_dir, out = sys.argv[1], sys.argv[2]
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
gen = tempfile.mkdtemp()
subprocess.check_call(["protoc", "--python_out=" + gen, "-I" + proto_dir] + glob.glob(proto_dir + "/*.proto"))
sys.path.insert(0, gen)
import binlogdata_pb2, vtgate_pb2, query_pb2           # noqa: E402
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

# ---- fuzz_backend.c: convert/ and vgtid/ ----
# fuzz_backend.c picks the type as values[b % n] of protobuf-c's value
# table, which is sorted by number; the charset from its list.
type_numbers = sorted(v.number for v in query_pb2.Type.DESCRIPTOR.values)
charsets = [0, 33, 45, 255, 192, 8, 5, 63, 1, 12, 13, 19, 24, 28, 248, 11, 2, 7]
os.makedirs(os.path.join(out, "convert"), exist_ok=True)
os.makedirs(os.path.join(out, "vgtid"), exist_ok=True)
cseen, vseen = set(), set()


def convert_seed(f, cell, target):
    flags = (1 if f.flags & 32 else 0) | (2 if f.flags & 128 else 0) | (0x40 if f.flags & 64 else 0)
    if cell is None:
        flags |= 0x20
        cell = b""
    head = bytes([type_numbers.index(f.type) if f.type in type_numbers else 0, target,
                  charsets.index(f.charset) if f.charset in charsets else 0,
                  flags, f.decimals % 40, min(f.column_length // 4, 255)])
    cseen.add(head + f.column_type.encode() + b"\0" + cell)


def row_cells(row):
    off, res = 0, []
    for n in row.lengths:
        if n < 0:
            res.append(None)
        else:
            res.append(row.values[off:off + n])
            off += n
    return res


for m in seen:
    resp = vtgate_pb2.VStreamResponse()
    resp.ParseFromString(m)
    fields = {}
    for ev in resp.events:
        if ev.HasField("field_event"):
            fields[ev.field_event.table_name] = list(ev.field_event.fields)
        if ev.HasField("row_event") and ev.row_event.table_name in fields:
            fl = fields[ev.row_event.table_name]
            for rc in ev.row_event.row_changes:
                for img in (rc.before, rc.after):
                    for f, cell in zip(fl, row_cells(img)):
                        for target in (0, 1, 5, 9, 14):
                            convert_seed(f, cell, target)
        if ev.HasField("vgtid"):
            vseen.add(json_format.MessageToJson(ev.vgtid, indent=None).encode())
            for sg in ev.vgtid.shard_gtids:
                for tp in sg.table_p_ks:
                    for row in tp.lastpk.rows:
                        for f, cell in zip(tp.lastpk.fields, row_cells(row)):
                            convert_seed(f, cell, 0)
# every MySQL type family, with typical values (the captures do not have them all)
T = query_pb2
typical = [
    (T.INT8, "tinyint", 63, 0, ["-128", "127", "0"]), (T.UINT8, "tinyint unsigned", 63, 32, ["255"]),
    (T.INT16, "smallint", 63, 0, ["-32768"]), (T.UINT16, "smallint unsigned", 63, 32, ["65535"]),
    (T.INT24, "mediumint", 63, 0, ["-8388608"]), (T.UINT24, "mediumint unsigned", 63, 32, ["16777215"]),
    (T.INT32, "int", 63, 0, ["-2147483648"]), (T.UINT32, "int unsigned", 63, 32, ["4294967295"]),
    (T.INT64, "bigint", 63, 0, ["-9223372036854775808"]), (T.UINT64, "bigint unsigned", 63, 32, ["18446744073709551615"]),
    (T.FLOAT32, "float", 63, 0, ["1.5e-7", "-3.4028235e38"]), (T.FLOAT64, "double", 63, 0, ["2.2250738585072014e-308", "1e308"]),
    (T.DECIMAL, "decimal(10,2)", 63, 0, ["-12345678.90", "0.00"]),
    (T.TIMESTAMP, "timestamp(6)", 63, 0, ["2024-02-29 23:59:59.999999", "0000-00-00 00:00:00"]),
    (T.DATE, "date", 63, 0, ["1000-01-01", "0000-00-00", "2024-02-30"]),
    (T.TIME, "time(3)", 63, 0, ["-838:59:59.000", "838:59:59", "00:00:00.5"]),
    (T.DATETIME, "datetime", 63, 0, ["9999-12-31 23:59:59", "2024-01-01 00:00:00.123456"]),
    (T.YEAR, "year", 63, 32, ["2155", "0000", "1901"]),
    (T.TEXT, "text", 255, 0, ["h\u00e9llo", "\u2603"]), (T.TEXT, "text", 8, 0, ["caf\u00e9"]),
    (T.VARCHAR, "varchar(10)", 45, 0, ["abc"]), (T.CHAR, "char(4)", 33, 0, ["ab  "]),
    (T.VARCHAR, "varchar(10)", 28, 0, ["\u4e2d"]),
    (T.BLOB, "blob", 63, 128, ["\x00\xff\xfe"]), (T.VARBINARY, "varbinary(8)", 63, 128, ["\xc3\x28"]),
    (T.BINARY, "binary(4)", 63, 128, ["ab\x00\x00"]),
    (T.BIT, "bit(10)", 63, 32, ["\x03\xff"]), (T.BIT, "bit(1)", 63, 32, ["\x01"]),
    (T.ENUM, "enum('a','b','c')", 255, 256, ["b", "2"]), (T.SET, "set('x','y','z')", 255, 2048, ["x,z", "5"]),
    (T.JSON, "json", 63, 144, ['{"a": [1, 2.5, "x"]}', 'null']),
    (T.GEOMETRY, "point", 63, 128, ["\x00\x00\x00\x00\x01\x01\x00\x00\x00" + "\x00" * 16]),
    (T.VECTOR, "vector(2)", 63, 128, ["\x00\x00\x80\x3f\x00\x00\x00\x40"]),
]
for typ, ct, cs, fl, vals in typical:
    f = query_pb2.Field(name="c", type=typ, column_type=ct, charset=cs, flags=fl,
                        decimals=6 if "(6)" in ct else (3 if "(3)" in ct else (2 if "decimal" in ct else 0)),
                        column_length=32)
    for v in vals:
        cell = v.encode("latin-1") if typ in (T.BLOB, T.VARBINARY, T.BINARY, T.BIT, T.GEOMETRY, T.VECTOR) \
            else v.encode("latin-1" if cs == 8 else ("gbk" if cs == 28 else "utf-8"))
        for target in (0, 1, 5, 9, 12, 14, 17, 20):
            convert_seed(f, cell, target)
    convert_seed(f, None, 0)
# MariaDB UUID / INET6 / INET4: BINARY with text (copy) or stored bytes
# (replication); targets natural, text, inet, uuid
for ct, vals in (("uuid", [b"123e4567-e89b-12d3-a456-426614174000", bytes(range(16))]),
                 ("inet6", [b"2001:db8::1", bytes(15) + b"\x01"]),
                 ("inet4", [b"10.0.0.1", b"\x0a\x00\x00\x01"])):
    f = query_pb2.Field(name="c", type=T.BINARY, column_type=ct, charset=63, flags=128, column_length=16)
    for v in vals:
        for target in (0, 1, 25, 26):
            convert_seed(f, v, target)
for f in glob.glob(os.path.join(root, "sql/*.sql")) + glob.glob(os.path.join(root, "test/t/*.pl")):
    for js in re.findall(r"'(\[\{\"keyspace[^']*|\{\"shard_gtids[^']*)'", open(f).read()):
        vseen.add(js.encode())
for i, c in enumerate(sorted(cseen)):
    open(os.path.join(out, "convert", "seed%05d" % i), "wb").write(c)
for i, v in enumerate(sorted(vseen)):
    open(os.path.join(out, "vgtid", "seed%04d" % i), "wb").write(v)
print("%d cells, %d VGTIDs" % (len(cseen), len(vseen)))
