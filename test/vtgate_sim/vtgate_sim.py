#!/usr/bin/python3
"""vtgate_sim -- a scripted test VTGate serving /vtgateservice.Vitess/VStream.

Sans-IO HTTP/2 (python3-h2) + ssl + sockets; one thread per TCP connection.
Run with Debian's /usr/bin/python3 (it has h2 and protobuf 4.21).

See README.md in this directory for the CLI, the scenario format, positions
and faults.
"""

import argparse
import atexit
import base64
import importlib
import json
import os
import select
import selectors
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.settings
import h2.stream

VSTREAM_PATH = "/vtgateservice.Vitess/VStream"

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_PROTO_DIR = os.path.normpath(os.path.join(HERE, "..", "..", "proto"))

# gRPC status codes used here
OK, CANCELLED, UNKNOWN, INVALID_ARGUMENT, NOT_FOUND = 0, 1, 2, 3, 5
PERMISSION_DENIED, INTERNAL, UNIMPLEMENTED, UNAVAILABLE, UNAUTHENTICATED = 7, 13, 12, 14, 16

# VEventType values
BEGIN, COMMIT, DDL, OTHER, ROW, FIELD, HEARTBEAT, VGTID, COPY_COMPLETED = 2, 3, 5, 11, 12, 13, 14, 15, 20

LOG_LOCK = threading.Lock()
VERBOSE = 0


def log(msg, level=1):
    if VERBOSE >= level:
        with LOG_LOCK:
            sys.stderr.write("vtgate_sim[%d] %s %s\n" % (os.getpid(), time.strftime("%H:%M:%S"), msg))
            sys.stderr.flush()


# --------------------------------------------------------------------------
# protobuf modules, generated at start-up with protoc
# --------------------------------------------------------------------------

class PB:
    """Holder of the generated *_pb2 modules."""

    def __init__(self, proto_dir, gen_dir=None):
        if gen_dir is None:
            gen_dir = tempfile.mkdtemp(prefix="vtgate_sim_pb_")
            atexit.register(shutil.rmtree, gen_dir, True)
        else:
            os.makedirs(gen_dir, exist_ok=True)
        protos = sorted(f for f in os.listdir(proto_dir) if f.endswith(".proto"))
        if not protos:
            raise SystemExit("no .proto files in %s" % proto_dir)
        cmd = ["protoc", "--python_out=" + gen_dir, "-I", proto_dir] + [os.path.join(proto_dir, p) for p in protos]
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if r.returncode != 0:
            raise SystemExit("protoc failed: %s" % r.stderr.decode(errors="replace"))
        if gen_dir not in sys.path:
            sys.path.insert(0, gen_dir)
        self.vtgate = importlib.import_module("vtgate_pb2")
        self.binlogdata = importlib.import_module("binlogdata_pb2")
        self.query = importlib.import_module("query_pb2")
        from google.protobuf import json_format
        self.json_format = json_format


# --------------------------------------------------------------------------
# hand encoding helpers (fast paths for generators)
# --------------------------------------------------------------------------

def varint(n):
    if n < 0:
        n += 1 << 64
    if n < 0x80:
        return bytes((n,))
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


_V1 = [bytes((i,)) for i in range(128)]


def ld(tag_bytes, payload):
    n = len(payload)
    if n < 128:
        return tag_bytes + _V1[n] + payload
    return tag_bytes + varint(n) + payload


def vi(tag_bytes, n):
    return tag_bytes + varint(n)


def zigzag(n):
    return (n << 1) ^ (n >> 63)


def grpc_frame(payload, flag=0):
    return struct.pack(">BI", flag, len(payload)) + payload


def pct_encode(msg):
    out = []
    for b in msg.encode("utf-8"):
        if 0x20 <= b <= 0x7E and b != 0x25:
            out.append(chr(b))
        else:
            out.append("%%%02X" % b)
    return "".join(out)


class GrpcError(Exception):
    def __init__(self, code, message):
        Exception.__init__(self, message)
        self.code = code
        self.message = message


# --------------------------------------------------------------------------
# positions
# --------------------------------------------------------------------------

def vgtid_key(vgtid):
    """Canonical form of a VGtid: shard entries sorted by keyspace/shard,
    each serialized deterministically (gtid and table_p_ks included)."""
    return tuple(sorted((sg.keyspace, sg.shard, sg.SerializeToString(deterministic=True))
                        for sg in vgtid.shard_gtids))


def classify_request(req):
    """-> 'start' | 'current' | 'position'"""
    sgs = list(req.vgtid.shard_gtids)
    if not sgs:
        raise GrpcError(INVALID_ARGUMENT, "vgtid must have at least one value with a starting position")
    if all(sg.gtid == "" and len(sg.table_p_ks) == 0 for sg in sgs):
        return "start"
    if all(sg.gtid == "current" for sg in sgs):
        return "current"
    return "position"


def heartbeat_bytes():
    now = time.time()
    ev = b"\x08\x0e" + vi(b"\x10", int(now)) + vi(b"\xa0\x01", int(now * 1e9))
    return ld(b"\x0a", ev)


class StreamCtx:
    """Per-stream state visible to sources (FIELD re-send bookkeeping)."""

    def __init__(self, request):
        self.request = request
        self.fields_sent = set()
        self.extra = {}


class ShardPlan:
    """A request resolved shard by shard (its VGtid is not one position of
    the log): each shard of the request starts at its own index in the log,
    only the events of the request's shards are sent, and every VGTID sent
    is the stream's own VGtid with just the reporting shard's entry updated,
    as VTGate does.  Passed to items() in place of the preamble list."""

    def __init__(self, pb, req_vgtid):
        self.starts = {}            # (keyspace, shard) -> first log index of that shard
        self.vgtid = pb.binlogdata.VGtid()
        self.vgtid.CopyFrom(req_vgtid)
        self.index = {(sg.keyspace, sg.shard): i for i, sg in enumerate(self.vgtid.shard_gtids)}
        self.current = []           # shards that start with a "current" preamble
        self.copying = set()        # shards that still send their COPY_COMPLETED
        self.final_pending = False  # stream-wide COPY_COMPLETED still due
        self.preamble = []          # raw responses sent first

    def __len__(self):
        return len(self.preamble)

    def min_start(self):
        return min(self.starts.values()) if self.starts else 0

    def update(self, key, sg):
        """Set the entry of shard key from sg; returns the stream's VGtid."""
        i = self.index.get(key)
        if i is None:
            return self.vgtid
        self.vgtid.shard_gtids[i].CopyFrom(sg)
        return self.vgtid

    def describe(self):
        return {"%s/%s" % k: v for k, v in sorted(self.starts.items())}


def entry_key(sg):
    return sg.SerializeToString(deterministic=True)


def preamble_response(pb, vg, keyspace, shard):
    """[VGTID, OTHER] of one shard, as VTGate starts a "current" stream."""
    resp = pb.vtgate.VStreamResponse()
    e = resp.events.add()
    e.type = VGTID
    e.vgtid.CopyFrom(vg)
    e.keyspace, e.shard = keyspace, shard
    e2 = resp.events.add()
    e2.type = OTHER
    e2.keyspace, e2.shard = keyspace, shard
    return resp.SerializeToString()


def make_preamble(pb, cur_vgtid):
    """[VGTID, OTHER] per shard, as VTGate does for a 'current' start.
    Shards that have not reported yet still carry gtid 'current'.
    Returns list of (VStreamResponse bytes, VGtid message)."""
    out = []
    vg = pb.binlogdata.VGtid()
    for sg in cur_vgtid.shard_gtids:
        n = vg.shard_gtids.add()
        n.keyspace, n.shard, n.gtid = sg.keyspace, sg.shard, "current"
    for i, sg in enumerate(cur_vgtid.shard_gtids):
        vg.shard_gtids[i].CopyFrom(sg)
        v = pb.binlogdata.VGtid()
        v.CopyFrom(vg)
        out.append((preamble_response(pb, vg, sg.keyspace, sg.shard), v))
    return out


# --------------------------------------------------------------------------
# JSON scenario source
# --------------------------------------------------------------------------

def _cells_to_row(d):
    """{"cells": ["1", null, {"hex": "00ff"}, {"b64": ".."}]} -> Row JSON."""
    lengths, values = [], bytearray()
    for c in d["cells"]:
        if c is None:
            lengths.append(-1)
            continue
        if isinstance(c, dict):
            if "hex" in c:
                b = bytes.fromhex(c["hex"])
            elif "b64" in c:
                b = base64.b64decode(c["b64"])
            else:
                raise ValueError("bad cell %r" % (c,))
        elif isinstance(c, (int, float)) and not isinstance(c, bool):
            b = str(c).encode()
        else:
            b = str(c).encode("utf-8")
        lengths.append(len(b))
        values += b
    out = {k: v for k, v in d.items() if k != "cells"}
    out["lengths"] = lengths
    out["values"] = base64.b64encode(bytes(values)).decode()
    return out


def preprocess(obj):
    if isinstance(obj, dict):
        if "cells" in obj:
            obj = _cells_to_row(obj)
        return {k: preprocess(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [preprocess(x) for x in obj]
    return obj


class LogSource:
    """What the scripted and the generated log share: resolving a request.

    Subclasses provide preamble, mark, positions (VGTID key -> index of
    the step that produced it), preamble_pos and _plan(); they may add
    positions computed on demand with _position_index().
    """

    def resolve(self, req):
        """-> (mode, preamble_list, start_index)"""
        mode = classify_request(req)
        if mode == "start":
            return mode, [], 0
        if mode == "current":
            if not self.preamble:
                raise GrpcError(INVALID_ARGUMENT, "%s has no current position" % self.kind)
            return mode, [p[0] for p in self.preamble], self.mark
        key = vgtid_key(req.vgtid)
        if key in self.positions:
            return "position", [], self.positions[key] + 1
        i = self._position_index(req)
        if i is not None:
            return "position", [], i + 1
        if key in self.preamble_pos:
            j = self.preamble_pos[key]
            return "position", [p[0] for p in self.preamble[j + 1:]], self.mark
        plan = self._plan(req)
        return "shards", plan, plan.min_start()

    def _position_index(self, req):
        """Index of the step whose VGTID the request names, beyond positions."""
        return None


class ScenarioSource(LogSource):
    kind = "scenario"

    def __init__(self, pb, path):
        self.pb = pb
        self.path = path
        with open(path) as f:
            data = json.load(f)
        if isinstance(data, list):
            data = {"responses": data}
        self.data = data
        self.description = data.get("description", "")
        self.auto_field = data.get("auto_field", True)
        self.faults = data.get("faults", [])
        self.end = data.get("end")
        # entries: ("msg", VStreamResponse, bytes) | ("sleep", seconds)
        self.entries = []
        self.mark = None
        for i, item in enumerate(data.get("responses", [])):
            if "mark" in item:
                if item["mark"] != "current":
                    raise SystemExit("%s: unknown mark %r" % (path, item["mark"]))
                self.mark = len(self.entries)
                continue
            if "sleep" in item and "events" not in item and "response" not in item:
                self.entries.append(("sleep", float(item["sleep"])))
                continue
            if "sleep_before" in item:
                self.entries.append(("sleep", float(item["sleep_before"])))
            body = item.get("response", item)
            body = {k: v for k, v in body.items() if k in ("events",)}
            resp = pb.vtgate.VStreamResponse()
            try:
                pb.json_format.ParseDict(preprocess(body), resp)
            except Exception as e:
                raise SystemExit("%s: response #%d: %s" % (path, i, e))
            self.entries.append(("msg", resp, resp.SerializeToString()))
        if self.mark is None:
            self.mark = data.get("current_index", 0)
        # positions: the FIRST response containing a VGtid (at-least-once:
        # a VGtid that occurs again later re-delivers rather than skips)
        self.positions = {}
        for idx, ent in enumerate(self.entries):
            if ent[0] != "msg":
                continue
            for ev in ent[1].events:
                if ev.type == VGTID and ev.HasField("vgtid"):
                    self.positions.setdefault(vgtid_key(ev.vgtid), idx)
        # per-shard positions: the first response in which a VGTID event
        # produced by a shard carries that shard's entry; and where each
        # shard's COPY_COMPLETED is
        self.shard_positions = {}
        self.cc_index = {}
        for idx, ent in enumerate(self.entries):
            if ent[0] != "msg":
                continue
            for ev in ent[1].events:
                if ev.type == VGTID and ev.HasField("vgtid") and ev.shard:
                    for sg in ev.vgtid.shard_gtids:
                        if (sg.keyspace, sg.shard) == (ev.keyspace, ev.shard):
                            self.shard_positions.setdefault((ev.keyspace, ev.shard, entry_key(sg)), idx)
                elif ev.type == COPY_COMPLETED and ev.shard:
                    self.cc_index.setdefault((ev.keyspace, ev.shard), idx)
        # the VGtid at the "current" mark
        self.current_vgtid = None
        if "current_vgtid" in data:
            self.current_vgtid = pb.binlogdata.VGtid()
            pb.json_format.ParseDict(preprocess(data["current_vgtid"]), self.current_vgtid)
        else:
            for ent in self.entries[:self.mark]:
                if ent[0] != "msg":
                    continue
                for ev in ent[1].events:
                    if ev.type == VGTID and ev.HasField("vgtid"):
                        self.current_vgtid = ev.vgtid
        self.preamble = make_preamble(pb, self.current_vgtid) if self.current_vgtid else []
        self.preamble_pos = {}
        for j, (_, v) in enumerate(self.preamble):
            k = vgtid_key(v)
            if k not in self.positions:
                self.preamble_pos[k] = j

    def n_positions(self):
        return len(self.positions) + len(self.preamble_pos)

    def _latest_field(self, key, before_idx):
        for idx in range(before_idx - 1, -1, -1):
            ent = self.entries[idx]
            if ent[0] != "msg":
                continue
            for ev in reversed(ent[1].events):
                if ev.type == FIELD and (ev.field_event.table_name, ev.field_event.shard or ev.shard) == key:
                    return ev
        return None

    def _render(self, idx, ctx):
        _, resp, raw = self.entries[idx]
        if not self.auto_field:
            return raw
        newresp = None
        out_events = []
        for ev in resp.events:
            if ev.type == FIELD:
                ctx.fields_sent.add((ev.field_event.table_name, ev.field_event.shard or ev.shard))
            elif ev.type == ROW:
                key = (ev.row_event.table_name, ev.row_event.shard or ev.shard)
                if key not in ctx.fields_sent:
                    f = self._latest_field(key, idx)
                    ctx.fields_sent.add(key)
                    if f is not None:
                        out_events.append(f)
                        newresp = True
            out_events.append(ev)
        if not newresp:
            return raw
        r = self.pb.vtgate.VStreamResponse()
        for ev in out_events:
            r.events.add().CopyFrom(ev)
        return r.SerializeToString()

    def _plan(self, req):
        """Resolve each shard of the request on its own (see ShardPlan):
        gtid "" without table_p_ks -> the shard's events from the start of
        the log (its copy again); "current" -> a [VGTID, OTHER] for it, then
        its events from the mark; any other entry -> the shard's events
        after the first response whose VGTID from that shard carries it."""
        plan = ShardPlan(self.pb, req.vgtid)
        cur = {}
        if self.current_vgtid is not None:
            cur = {(sg.keyspace, sg.shard): sg for sg in self.current_vgtid.shard_gtids}
        for sg in req.vgtid.shard_gtids:
            k = (sg.keyspace, sg.shard)
            if sg.gtid == "" and not len(sg.table_p_ks):
                plan.starts[k] = 0
            elif sg.gtid == "current":
                if k not in cur:
                    raise GrpcError(INVALID_ARGUMENT, "scenario has no current position for shard %s/%s" % k)
                plan.starts[k] = self.mark
                plan.current.append(k)
            else:
                idx = self.shard_positions.get(k + (entry_key(sg),))
                # A resuming copy may append table_p_ks entries for tables
                # the shard completed (with their last key): Vitess then
                # resumes those tables too.  The log position is the one
                # without them.
                trimmed = self.pb.binlogdata.ShardGtid()
                trimmed.CopyFrom(sg)
                while idx is None and len(trimmed.table_p_ks):
                    del trimmed.table_p_ks[-1]
                    idx = self.shard_positions.get(k + (entry_key(trimmed),))
                if idx is not None:
                    plan.starts[k] = idx + 1
                elif k in cur and entry_key(cur[k]) == entry_key(sg):
                    plan.starts[k] = self.mark
                else:
                    raise GrpcError(INVALID_ARGUMENT,
                                    "unknown position: shard %s/%s entry %s not found in the scenario log" % (
                                        k + (self.pb.json_format.MessageToJson(sg, indent=None),)))
        for k, start in plan.starts.items():
            if k in self.cc_index and start <= self.cc_index[k]:
                plan.copying.add(k)
        plan.final_pending = bool(plan.copying)
        for k in plan.current:
            vg = plan.update(k, cur[k])
            plan.preamble.append(preamble_response(self.pb, vg, *k))
        return plan

    def _render_shards(self, idx, ctx, plan):
        """Response idx as seen by a per-shard stream; None if nothing of it
        is for this stream."""
        resp = self.entries[idx][1]
        out = []
        for ev in resp.events:
            if not ev.shard:
                # stream-wide COPY_COMPLETED is re-derived below; other
                # shard-less events go to everyone
                if ev.type != COPY_COMPLETED:
                    out.append(ev)
                continue
            k = (ev.keyspace, ev.shard)
            start = plan.starts.get(k)
            if start is None or idx < start:
                continue
            if ev.type == VGTID and ev.HasField("vgtid"):
                for sg in ev.vgtid.shard_gtids:
                    if (sg.keyspace, sg.shard) == k:
                        plan.update(k, sg)
                e = self.pb.binlogdata.VEvent()
                e.CopyFrom(ev)
                e.vgtid.CopyFrom(plan.vgtid)
                out.append(e)
                continue
            if ev.type == FIELD:
                ctx.fields_sent.add((ev.field_event.table_name, ev.field_event.shard or ev.shard))
            elif ev.type == ROW and self.auto_field:
                fk = (ev.row_event.table_name, ev.row_event.shard or ev.shard)
                if fk not in ctx.fields_sent:
                    f = self._latest_field(fk, idx)
                    ctx.fields_sent.add(fk)
                    if f is not None:
                        out.append(f)
            out.append(ev)
            if ev.type == COPY_COMPLETED:
                plan.copying.discard(k)
                if plan.final_pending and not plan.copying:
                    plan.final_pending = False
                    e = self.pb.binlogdata.VEvent()
                    e.type = COPY_COMPLETED
                    out.append(e)
        if not out:
            return None
        if any(ev.shard for ev in resp.events) and not any(
                ev.shard or ev.type == COPY_COMPLETED for ev in out):
            return None     # only shard-less company of filtered events
        r = self.pb.vtgate.VStreamResponse()
        for ev in out:
            r.events.add().CopyFrom(ev)
        return r.SerializeToString()

    def items(self, ctx, preamble, start):
        if isinstance(preamble, ShardPlan):
            for raw in preamble.preamble:
                yield ("msg", raw)
            for idx in range(start, len(self.entries)):
                ent = self.entries[idx]
                if ent[0] == "sleep":
                    yield ent
                    continue
                raw = self._render_shards(idx, ctx, preamble)
                if raw is not None:
                    yield ("msg", raw)
            return
        for raw in preamble:
            yield ("msg", raw)
        for idx in range(start, len(self.entries)):
            ent = self.entries[idx]
            if ent[0] == "sleep":
                yield ent
            else:
                yield ("msg", self._render(idx, ctx))


# --------------------------------------------------------------------------
# generated sources (bench table), hand-encoded for speed
# --------------------------------------------------------------------------

BENCH_UUIDS = {"-80": "5e8d1a2c-7b3f-11ee-9c41-0242ac110002", "80-": "6f9e2b3d-7b3f-11ee-9c41-0242ac110003",
               "0": "4d7c0918-7b3f-11ee-9c41-0242ac110001"}
# query.Type values
T_INT64, T_VARCHAR, T_DECIMAL, T_DATETIME = 265, 6165, 18, 2064


def enc_field(name, typ, table, database, column_length, charset, flags, column_type, decimals=0):
    b = ld(b"\x0a", name.encode()) + vi(b"\x10", typ) + ld(b"\x1a", table.encode()) + ld(b"\x22", table.encode())
    b += ld(b"\x2a", database.encode()) + ld(b"\x32", name.encode()) + vi(b"\x38", column_length)
    b += vi(b"\x40", charset)
    if decimals:
        b += vi(b"\x48", decimals)
    if flags:
        b += vi(b"\x50", flags)
    b += ld(b"\x5a", column_type.encode())
    return b


def keyrange_shards(k):
    """Names of the shards of a keyspace split evenly in k (k >= 1)."""
    if k <= 1:
        return ["0"]
    width, top = (2, 256) if k <= 256 else (4, 65536)
    bounds = [i * top // k for i in range(k + 1)]
    fmt = "%%0%dx" % width
    return [("" if i == 0 else fmt % bounds[i]) + "-" + ("" if i == k - 1 else fmt % bounds[i + 1])
            for i in range(k)]


class BenchGen(LogSource):
    """Deterministic generated log for table bench(id bigint pk, name varchar(64),
    amount decimal(12,2), created datetime) on keyspace 'bench', shards -80 / 80-.

    Steps (one response each):
      copy phase (only if copy_rows is not None):
        ('bf', s)            [BEGIN, FIELD]
        ('snap', s)          [VGTID]                      (snapshot position)
        ('batch', s, k)      [BEGIN?, ROW*, VGTID(lastpk), COMMIT]
        ('tdone', s)         [BEGIN, VGTID(no table_p_ks), COMMIT]
        ('cc', s, final)     [COPY_COMPLETED ks/shard (, COPY_COMPLETED)]
      -- "current" mark --
        ('txn', k)           [BEGIN, FIELD?, ROW, VGTID, COMMIT]  (shard k % 2)
        ('big', j)           chunk j of one big transaction on shard -80
    """
    kind = "generator"

    def __init__(self, pb, spec):
        self.pb = pb
        self.faults = []
        self.end = None
        name, _, rest = spec.partition(":")
        parts = rest.split(",") if rest else []
        n = int(parts[0]) if parts and "=" not in parts[0] else 0
        opts = dict(p.split("=", 1) for p in parts if "=" in p)
        self.ks = opts.get("keyspace", "bench")
        self.table = "bench"
        self.shards = opts.get("shards", "-80/80-").split("/")
        if "nshards" in opts:
            # nshards=K: a keyspace split evenly in K shards, named as Vitess
            # names key ranges (-40, 40-80, ..., or 4 hex digits past 256)
            self.shards = keyrange_shards(int(opts["nshards"]))
        self.batch = int(opts.get("batch", 1000))
        self.per_resp = int(opts.get("per_resp", 500))
        self.rpe = int(opts.get("rows_per_event", 1))
        self.base = int(opts.get("base", 100))
        # prerender=1: encode the replication backlog (txns) before serving, so
        # that a benchmark measures the client, not this generator
        self.prerender = opts.get("prerender", "0") not in ("0", "")
        # churn=1: replicated transaction k deletes the row of k-2 when
        # k % 6 == 2 and inserts it again when k % 6 == 4 (soft deletes)
        self.churn = opts.get("churn", "0") not in ("0", "")
        # fixed_ts=1: transaction k has the timestamp 1700000000 + k (the
        # same whenever it is sent again), not the time it is sent
        self.fixed_ts = opts.get("fixed_ts", "0") not in ("0", "")
        self.copy_rows = None
        ntx = int(opts.get("txns", 0))
        nbig = int(opts.get("bigtxn", 0))
        if name == "copy":
            self.copy_rows = n
        elif name == "txns":
            ntx = n
        elif name == "bigtxn":
            nbig = n
            if "rows_per_event" not in opts:
                self.rpe = 25
        else:
            raise SystemExit("unknown generator %r (copy:N, txns:N, bigtxn:N)" % name)
        self.description = "generated %s" % spec
        self.ntx, self.nbig = ntx, nbig
        self.uuid = {s: BENCH_UUIDS.get(s, "7a0b3c4d-7b3f-11ee-9c41-%012x" % i) for i, s in enumerate(self.shards)}
        db = "vt_" + self.ks
        self.tn = (self.ks + "." + self.table).encode()
        self.field_payload = {}
        self.ksh = {}
        self.evksh = {}
        for s in self.shards:
            ksh = ld(b"\x1a", self.ks.encode()) + ld(b"\x22", s.encode())     # RowEvent/FieldEvent fields 3,4
            self.ksh[s] = ksh
            self.evksh[s] = ld(b"\xb2\x01", self.ks.encode()) + ld(b"\xba\x01", s.encode())  # VEvent 22,23
            fe = ld(b"\x0a", self.tn)
            fe += ld(b"\x12", enc_field("id", T_INT64, self.table, db, 20, 63, 53251, "bigint"))
            fe += ld(b"\x12", enc_field("name", T_VARCHAR, self.table, db, 256, 255, 0, "varchar(64)"))
            fe += ld(b"\x12", enc_field("amount", T_DECIMAL, self.table, db, 14, 63, 32768, "decimal(12,2)", 2))
            fe += ld(b"\x12", enc_field("created", T_DATETIME, self.table, db, 19, 63, 128, "datetime"))
            fe += ksh
            self.field_payload[s] = fe
        self.sgpre = {s: ld(b"\x0a", self.ks.encode()) + ld(b"\x12", s.encode()) for s in self.shards}
        self.gpre = {s: ("MySQL56/%s:1-" % self.uuid[s]).encode() for s in self.shards}
        self.pk_field = ld(b"\x0a", b"id") + vi(b"\x10", T_INT64) + vi(b"\x40", 63) + vi(b"\x50", 53251)
        # time-of-day table for 'created'
        self.tod = [("%02d:%02d:%02d" % (i // 3600, (i // 60) % 60, i % 60)).encode() for i in range(86400)]
        self.days = [("2024-%02d-%02d " % (1 + d // 28, 1 + d % 28)).encode() for d in range(28 * 12)]
        self._build_steps()

    # ---- log layout -------------------------------------------------
    def _build_steps(self):
        S = self.shards
        nsh = len(S)
        st = {s: {"gtid": "", "lastpk": None} for s in S}
        steps, states = [], []
        # each shard's entry, shared by the snapshots until it changes (a
        # snapshot of 1,024 shards is then 1,024 pointers, not 1,024 tuples)
        ent = {s: (s, "", None) for s in S}

        def snap(only=None):
            for s in (S if only is None else (only,)):
                e = ent[s]
                if e[1] != st[s]["gtid"] or e[2] != st[s]["lastpk"]:
                    ent[s] = (s, st[s]["gtid"], st[s]["lastpk"])
            return tuple(ent[s] for s in S)

        if self.copy_rows is not None:
            # ids 1..N; row id belongs to shard S[(id-1) % nsh]
            self.copy_counts = {s: max(0, (self.copy_rows - i + nsh - 1) // nsh) for i, s in enumerate(S)}
            queues = {}
            for s in S:
                nb = (self.copy_counts[s] + self.batch - 1) // self.batch
                queues[s] = [("bf", s), ("snap", s)] + [("batch", s, k) for k in range(nb)] + [("tdone", s), ("cc", s)]
            done_shards = 0
            while any(queues[s] for s in S):
                for s in S:       # round robin, one transaction per turn
                    q = queues[s]
                    while q:
                        step = q.pop(0)
                        if step[0] == "snap":
                            st[s]["gtid"] = self.gtid(s, 0)
                        elif step[0] == "batch":
                            st[s]["lastpk"] = self.batch_last_id(s, step[2])
                        elif step[0] == "tdone":
                            st[s]["lastpk"] = None
                        elif step[0] == "cc":
                            done_shards += 1
                            step = ("cc", s, done_shards == nsh)
                        steps.append(step)
                        states.append(snap(s))
                        if step[0] in ("batch", "tdone", "cc"):
                            break
        else:
            for s in S:
                st[s]["gtid"] = self.gtid(s, 0)
        self.copy_steps = steps
        self.copy_states = states
        self.mark = len(steps)
        self.cur_state = snap()
        self.nchunks = (self.nbig + self.per_resp - 1) // self.per_resp if self.nbig else 0
        self.n_steps = self.mark + self.ntx + self.nchunks
        # position index (copy steps and end of the big txn; txns are decoded arithmetically)
        self.positions = {}
        idx = [i for i, stp in enumerate(steps) if stp[0] in ("snap", "batch", "tdone")]
        if self.nchunks:
            idx.append(self.n_steps - 1)
        if nsh > 64:
            # many shards: whole-VGTID keys would cost minutes to build; a
            # resume is resolved shard by shard (_plan) instead
            idx = []
        for i in idx:
            vg = self.pb.binlogdata.VGtid()
            vg.ParseFromString(self.enc_vgtid(self.state(i)))
            self.positions.setdefault(vgtid_key(vg), i)
        # per-shard positions of the copy phase: (shard, gtid, lastpk) ->
        # step index; a gtid without lastpk resumes after the "table done"
        # step (the snapshot position is only committed with a batch)
        self.shard_copy_pos = {}
        self.cc_index = {}
        for i, stp in enumerate(steps):
            if stp[0] in ("snap", "batch", "tdone"):
                s = stp[1]
                ent = [e for e in states[i] if e[0] == s][0]
                if stp[0] == "snap":
                    self.shard_copy_pos.setdefault(ent, i)
                else:
                    self.shard_copy_pos[ent] = i
            elif stp[0] == "cc":
                self.cc_index[stp[1]] = i
        cur = self.pb.binlogdata.VGtid()
        cur.ParseFromString(self.enc_vgtid(self.cur_state))
        self.current_vgtid = cur
        self.preamble = make_preamble(self.pb, cur)
        self.preamble_pos = {}
        for j, (_, v) in enumerate(self.preamble):
            k = vgtid_key(v)
            if k not in self.positions:
                self.preamble_pos[k] = j
        # step index -> (index after the range, chunks): a fresh copy and the
        # replication backlog, each rendered with a context of its own
        self.prerendered = {}
        if self.prerender and self.mark:
            self.prerendered[0] = (self.mark, self._prerender(0, self.mark))
        if self.prerender and self.ntx:
            self.prerendered[self.mark] = (self.mark + self.ntx,
                                           self._prerender(self.mark, self.mark + self.ntx))

    def _prerender(self, lo, hi):
        """gRPC-framed responses of steps lo..hi-1, in ~64 KiB chunks."""
        ctx = StreamCtx(None)
        chunks, parts, size = [], [], 0
        for i in range(lo, hi):
            fr = grpc_frame(self.render(i, ctx))
            parts.append(fr)
            size += len(fr)
            if size >= 65536:
                chunks.append((len(parts), b"".join(parts)))
                parts, size = [], 0
        if parts:
            chunks.append((len(parts), b"".join(parts)))
        return chunks

    def step_shard(self, i):
        if i < self.mark:
            return self.copy_steps[i][1]
        k = i - self.mark
        if k < self.ntx:
            return self.shards[k % len(self.shards)]
        return self.shards[0]

    def step(self, i):
        if i < self.mark:
            return self.copy_steps[i]
        k = i - self.mark
        if k < self.ntx:
            return ("txn", k)
        return ("big", k - self.ntx, self.nchunks)

    def txn_counts(self, ntx_done):
        nsh = len(self.shards)
        return [(ntx_done - j + nsh - 1) // nsh if ntx_done > j else 0 for j in range(nsh)]

    def state(self, i):
        if i < self.mark:
            return self.copy_states[i]
        k = i - self.mark
        if k < self.ntx:
            cnt = self.txn_counts(k + 1)
        else:
            cnt = self.txn_counts(self.ntx)
            cnt[0] += 1
        return tuple((s, self.gtid(s, cnt[j]), None) for j, s in enumerate(self.shards))

    def n_positions(self):
        return len(self.positions) + len(self.preamble_pos) + self.ntx

    def gtid(self, s, n):
        return "MySQL56/%s:1-%d" % (self.uuid[s], self.base + n)

    def batch_last_id(self, s, k):
        i = self.shards.index(s)
        nsh = len(self.shards)
        last_local = min((k + 1) * self.batch, self.copy_counts[s]) - 1
        return 1 + i + last_local * nsh

    # ---- encoding ---------------------------------------------------
    def enc_vgtid(self, state):
        cache = self.__dict__.setdefault("_sg_cache", {})
        parts = []
        for e in state:
            b = cache.get(e)
            if b is None:
                b = cache[e] = self._enc_sg(*e)
            parts.append(b)
        return b"".join(parts)

    def _enc_sg(self, s, gtid, lastpk):
        """One shard's entry of a VGtid (field 1, framed)."""
        sg = ld(b"\x0a", self.ks.encode()) + ld(b"\x12", s.encode())
        if gtid:
            sg += ld(b"\x1a", gtid.encode())
        if lastpk is not None:
            v = b"%d" % lastpk
            row = ld(b"\x0a", _V1[zigzag(len(v))]) + ld(b"\x12", v)
            qr = ld(b"\x0a", self.pk_field) + ld(b"\x22", row)
            tpk = ld(b"\x0a", self.table.encode()) + ld(b"\x1a", qr)
            sg += ld(b"\x22", tpk)
        return ld(b"\x0a", sg)

    def ev(self, typ, s=None, extra=b"", ts=None):
        e = b"\x08" + _V1[typ]
        if ts:
            e += ts[2]
        e += extra
        if ts:
            e += ts[3]
        if s is not None:
            e += self.evksh[s]
        return ld(b"\x0a", e)

    def ev_vgtid(self, i, s, ctx=None):
        plan = ctx.extra.get("plan") if ctx is not None else None
        if plan is None:
            return self.ev(VGTID, s, ld(b"\x3a", self.enc_vgtid(self.state(i))))
        # per-shard stream: only this shard's entry changes
        sg = self.pb.binlogdata.VGtid()
        sg.ParseFromString(self.enc_vgtid([e for e in self.state(i) if e[0] == s]))
        vg = plan.update((self.ks, s), sg.shard_gtids[0])
        return self.ev(VGTID, s, ld(b"\x3a", vg.SerializeToString()))

    def ev_field(self, s, ts=None):
        return self.ev(FIELD, s, ld(b"\x32", self.field_payload[s]), ts)

    def row_values(self, rid):
        ids = b"%d" % rid
        amt = b"%d.%02d" % (rid % 10000000, rid % 100)
        cr = self.days[(rid // 86400) % 336] + self.tod[rid % 86400]
        li = len(ids)
        lengths = bytes((li * 2, (li + 5) * 2, len(amt) * 2, 38))
        vals = ids + b"name-" + ids + amt + cr
        return ld(b"\x0a", lengths) + ld(b"\x12", vals)

    def _rows_fast(self, s, ids):
        """Copy-phase ROW events, one row each, no timestamps (hot path)."""
        V1 = _V1
        tnf = ld(b"\x0a", self.tn)
        ksh = self.ksh[s]
        evksh = self.evksh[s]
        days, tod = self.days, self.tod
        head_ev = b"\x08\x0c\x2a"
        join = b"".join
        out = []
        app = out.append
        for rid in ids:
            idb = b"%d" % rid
            li = len(idb)
            amt = b"%d.%02d" % (rid % 10000000, rid % 100)
            vals = join((idb, b"name-", idb, amt, days[(rid // 86400) % 336], tod[rid % 86400]))
            lv = len(vals)                       # <= 72: single-byte lengths below
            row = join((b"\x0a\x04", bytes((li * 2, li * 2 + 10, len(amt) * 2, 38, 0x12, lv)), vals))
            lr = len(row)
            re = join((tnf, b"\x12", V1[lr + 2], b"\x12", V1[lr], row, ksh))
            lre = len(re)
            ev = join((head_ev, V1[lre] if lre < 128 else varint(lre), re, evksh))
            le = len(ev)
            app(b"\x0a" + (V1[le] if le < 128 else varint(le)) + ev)
        return join(out)

    def rows_events(self, s, ids, ts=None):
        """ROW events for ids (rows_per_event row_changes each)."""
        if self.rpe == 1 and not ts:
            return self._rows_fast(s, ids)
        out = []
        tnf = ld(b"\x0a", self.tn)
        ksh = self.ksh[s]
        evksh = self.evksh[s]
        rv = self.row_values
        rpe = self.rpe
        tsb = tse = b""
        if ts:
            tsb, tse = ts[2], ts[3]
        if rpe == 1:
            for rid in ids:
                rc = ld(b"\x12", ld(b"\x12", rv(rid)))          # RowChange{after}
                re = tnf + rc + ksh
                out.append(ld(b"\x0a", b"\x08\x0c" + tsb + ld(b"\x2a", re) + tse + evksh))
        else:
            ids = list(ids)
            for off in range(0, len(ids), rpe):
                rcs = b"".join(ld(b"\x12", ld(b"\x12", rv(rid))) for rid in ids[off:off + rpe])
                re = tnf + rcs + ksh
                out.append(ld(b"\x0a", b"\x08\x0c" + tsb + ld(b"\x2a", re) + tse + evksh))
        return b"".join(out)

    def render(self, i, ctx):
        step = self.step(i)
        kind = step[0]
        S = self.shards
        if kind == "bf":
            s = step[1]
            ctx.fields_sent.add(s)
            ctx.extra.setdefault("open", set()).add(s)
            return self.ev(BEGIN, s) + self.ev_field(s)
        if kind == "snap":
            return self.ev_vgtid(i, step[1], ctx)
        if kind == "batch":
            s, k = step[1], step[2]
            si, nsh = S.index(s), len(S)
            lo = k * self.batch
            hi = min(lo + self.batch, self.copy_counts[s])
            head = b""
            opened = ctx.extra.setdefault("open", set())
            if s not in opened:
                head = self.ev(BEGIN, s)
            if s not in ctx.fields_sent:
                head += self.ev_field(s)
                ctx.fields_sent.add(s)
            opened.discard(s)
            ids = range(1 + si + lo * nsh, 1 + si + hi * nsh, nsh)
            return head + self.rows_events(s, ids) + self.ev_vgtid(i, s, ctx) + self.ev(COMMIT, s)
        if kind == "tdone":
            s = step[1]
            ctx.extra.setdefault("open", set()).discard(s)
            return self.ev(BEGIN, s) + self.ev_vgtid(i, s, ctx) + self.ev(COMMIT, s)
        if kind == "cc":
            out = self.ev(COPY_COMPLETED, step[1])
            plan = ctx.extra.get("plan")
            if plan is not None:
                plan.copying.discard((self.ks, step[1]))
                if plan.final_pending and not plan.copying:
                    plan.final_pending = False
                    out += self.ev(COPY_COMPLETED)
            elif step[2]:
                out += self.ev(COPY_COMPLETED)
            return out
        now = time.time()
        ts = (int(now), int(now * 1e9))
        ts = ts + (b"\x10" + varint(ts[0]), b"\xa0\x01" + varint(ts[1]))
        if kind == "txn":
            k = step[1]
            if self.fixed_ts:
                t0 = 1700000000 + k
                ts = (t0, t0 * 1000000000)
                ts = ts + (b"\x10" + varint(ts[0]), b"\xa0\x01" + varint(ts[1]))
            nsh = len(S)
            s = S[k % nsh]
            rid = 1000000000 + k
            tsb, tse = ts[2], ts[3]
            evk = self.evksh[s]
            body = ld(b"\x0a", b"\x08\x02" + tsb + tse + evk)
            if ("r", s) not in ctx.fields_sent:
                ctx.fields_sent.add(("r", s))
                body += self.ev_field(s, ts)
            # VGtid after k+1 transactions, encoded directly
            n = k + 1
            base = self.base
            vg = b"".join(ld(b"\x0a", self.sgpre[sj] + ld(b"\x1a", self.gpre[sj] + b"%d" % (
                base + ((n - j + nsh - 1) // nsh if n > j else 0)))) for j, sj in enumerate(S))
            if self.churn and k % 6 == 2:
                # RowChange{before}: a delete of the row of transaction k-2
                rc = ld(b"\x12", ld(b"\x0a", self.row_values(rid - 2)))
                body += ld(b"\x0a", b"\x08\x0c" + tsb + ld(b"\x2a", ld(b"\x0a", self.tn) + rc + self.ksh[s])
                           + tse + evk)
            elif self.churn and k % 6 == 4:
                body += self.rows_events(s, (rid - 4,), ts)
            else:
                body += self.rows_events(s, (rid,), ts)
            if ctx.extra.get("plan") is not None:
                body += self.ev_vgtid(i, s, ctx)
            else:
                body += ld(b"\x0a", b"\x08\x0f" + ld(b"\x3a", vg) + evk)
            return body + ld(b"\x0a", b"\x08\x03" + tsb + tse + evk)
        if kind == "big":
            j, n = step[1], step[2]
            s = S[0]
            body = b""
            if j == 0:
                body += self.ev(BEGIN, s, ts=ts)
                if ("r", s) not in ctx.fields_sent:
                    ctx.fields_sent.add(("r", s))
                    body += self.ev_field(s, ts)
            lo = j * self.per_resp
            hi = min(lo + self.per_resp, self.nbig)
            body += self.rows_events(s, range(2000000000 + lo, 2000000000 + hi), ts)
            if j == n - 1:
                body += self.ev_vgtid(i, s, ctx) + self.ev(COMMIT, s, ts=ts)
            return body
        raise AssertionError(step)

    def rows_in_step(self, i):
        step = self.step(i)
        if step[0] == "batch":
            s, k = step[1], step[2]
            return min((k + 1) * self.batch, self.copy_counts[s]) - k * self.batch
        if step[0] == "txn":
            return 1
        if step[0] == "big":
            return min((step[1] + 1) * self.per_resp, self.nbig) - step[1] * self.per_resp
        return 0

    # ---- positions --------------------------------------------------
    def _position_index(self, req):
        """Decode a txn position arithmetically (avoids a huge index)."""
        if not self.ntx:
            return None
        ns = {}
        for sg in req.vgtid.shard_gtids:
            if sg.keyspace != self.ks or sg.shard not in self.uuid or len(sg.table_p_ks):
                return None
            pre = "MySQL56/%s:1-" % self.uuid[sg.shard]
            if not sg.gtid.startswith(pre):
                return None
            try:
                ns[sg.shard] = int(sg.gtid[len(pre):]) - self.base
            except ValueError:
                return None
        if set(ns) != set(self.shards):
            return None
        k = sum(ns.values()) - 1
        if k < 0 or k >= self.ntx:
            return None
        i = self.mark + k
        vg = self.pb.binlogdata.VGtid()
        vg.ParseFromString(self.enc_vgtid(self.state(i)))
        return i if vgtid_key(vg) == vgtid_key(req.vgtid) else None

    def _shard_start(self, sg):
        """Index of the first step of shard sg.shard for the entry sg, or None."""
        s = sg.shard
        if sg.keyspace != self.ks or s not in self.uuid:
            return None
        if sg.gtid == "" and not len(sg.table_p_ks):
            return 0
        if sg.gtid == "current":
            return self.mark
        lastpk = None
        if len(sg.table_p_ks):
            tpk = sg.table_p_ks[0]
            if tpk.table_name != self.table or len(tpk.lastpk.rows) != 1:
                return None
            row = tpk.lastpk.rows[0]
            try:
                lastpk = int(row.values[:row.lengths[0]].decode())
            except (ValueError, IndexError):
                return None
        i = self.shard_copy_pos.get((s, sg.gtid, lastpk))
        if i is not None:
            return i + 1
        pre = "MySQL56/%s:1-" % self.uuid[s]
        if lastpk is not None or not sg.gtid.startswith(pre):
            return None
        try:
            n = int(sg.gtid[len(pre):]) - self.base
        except ValueError:
            return None
        j, nsh = self.shards.index(s), len(self.shards)
        if n == 0:
            return self.mark
        k = (n - 1) * nsh + j
        if n > 0 and k < self.ntx:
            return self.mark + k + 1
        if self.nchunks and j == 0 and n == self.txn_counts(self.ntx)[0] + 1:
            return self.n_steps
        return None

    def _plan(self, req):
        """Per-shard resolution (see ShardPlan and ScenarioSource._plan)."""
        plan = ShardPlan(self.pb, req.vgtid)
        cur = {sg.shard: sg for sg in self.current_vgtid.shard_gtids}
        for sg in req.vgtid.shard_gtids:
            start = self._shard_start(sg)
            if start is None:
                raise GrpcError(INVALID_ARGUMENT,
                                "unknown position: shard %s/%s entry %s not found in the generated log" % (
                                    sg.keyspace, sg.shard, self.pb.json_format.MessageToJson(sg, indent=None)))
            k = (sg.keyspace, sg.shard)
            plan.starts[k] = start
            if sg.shard in self.cc_index and start <= self.cc_index[sg.shard]:
                plan.copying.add(k)
            if sg.gtid == "current":
                vg = plan.update(k, cur[sg.shard])
                plan.preamble.append(preamble_response(self.pb, vg, *k))
        plan.final_pending = bool(plan.copying)
        return plan

    def items(self, ctx, preamble, start):
        if isinstance(preamble, ShardPlan):
            ctx.extra["plan"] = preamble
            for raw in preamble.preamble:
                yield ("msg", raw)
            for i in range(start, self.n_steps):
                st = preamble.starts.get((self.ks, self.step_shard(i)))
                if st is None or i < st:
                    continue
                yield ("msg", self.render(i, ctx))
            return
        for raw in preamble:
            yield ("msg", raw)
        i = start
        while i < self.n_steps:
            pre = self.prerendered.get(i)
            if pre is not None:
                # a range as encoded at start-up (its FIELD events included)
                for count, framed in pre[1]:
                    yield ("framed", framed, count)
                i = pre[0]
                continue
            yield ("msg", self.render(i, ctx))
            i += 1


# --------------------------------------------------------------------------
# faults
# --------------------------------------------------------------------------

FAULT_KINDS = {"close", "rst_stream", "goaway", "status", "malformed", "oversize", "stall",
               "split_every_byte", "coalesce", "bad_frame", "delay", "huge_header", "frame_flood"}


class Fault:
    def __init__(self, d):
        self.kind = d["kind"]
        if self.kind not in FAULT_KINDS:
            raise SystemExit("unknown fault kind %r" % self.kind)
        self.at = int(d.get("at", 0))
        times = d.get("times")
        if d.get("once"):
            times = 1
        self.times = None if times is None else int(times)
        self.p = d
        self.fired = 0

    def __repr__(self):
        return "Fault(%s at=%d times=%s)" % (self.kind, self.at, self.times)


FAULT_LOCK = threading.Lock()


def parse_fault_cli(s):
    """kind[:at][,key=val...]  e.g.  status:3,code=14,message=go away,once"""
    s = s.strip()
    if s.startswith("{"):
        return json.loads(s)
    head, _, rest = s.partition(",")
    kind, _, at = head.partition(":")
    d = {"kind": kind}
    if at:
        d["at"] = int(at)
    if rest:
        for kv in rest.split(","):
            if "=" in kv:
                k, v = kv.split("=", 1)
                try:
                    v = int(v, 0)
                except ValueError:
                    try:
                        v = float(v)
                    except ValueError:
                        pass
                d[k] = v
            elif kv:
                d[kv] = True
    return d


# --------------------------------------------------------------------------
# server
# --------------------------------------------------------------------------

class Server:
    def __init__(self, args, pb, source, faults):
        self.args = args
        self.pb = pb
        self.source = source
        self.faults = faults
        self.conn_seq = 0
        self.stream_seq = 0
        self.lock = threading.Lock()
        self.ssl_ctx = None
        if args.tls_cert:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(args.tls_cert, args.tls_key or None)
            ctx.set_alpn_protocols(["h2"])
            if args.tls_client_ca:
                ctx.verify_mode = ssl.CERT_REQUIRED
                ctx.load_verify_locations(args.tls_client_ca)
            self.ssl_ctx = ctx
        self.auth = None
        if args.require_auth:
            u, _, p = args.require_auth.partition(":")
            self.auth = (u, p)
        self.end = None
        if args.end:
            code, _, msg = args.end.partition(":")
            self.end = {"status": int(code), "message": msg}
        elif source.end:
            self.end = source.end

    def log_request(self, rec):
        if not self.args.request_log:
            return
        line = json.dumps(rec, sort_keys=True)
        with LOG_LOCK:
            with open(self.args.request_log, "a") as f:
                f.write(line + "\n")

    def serve(self):
        fam = socket.AF_INET6 if ":" in self.args.host else socket.AF_INET
        ls = socket.socket(fam, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((self.args.host, self.args.port))
        ls.listen(64)
        port = ls.getsockname()[1]
        if self.args.pidfile:
            with open(self.args.pidfile, "w") as f:
                f.write("%d\n" % os.getpid())
        sys.stdout.write("READY %d\n" % port)
        sys.stdout.flush()
        log("listening on %s:%d (%s), source %s" % (self.args.host, port, "tls" if self.ssl_ctx else "h2c",
                                                    self.source.description))
        while True:
            try:
                s, addr = ls.accept()
            except InterruptedError:
                continue
            with self.lock:
                self.conn_seq += 1
                cid = self.conn_seq
            t = threading.Thread(target=self.handle_conn, args=(s, addr, cid), daemon=True)
            t.start()

    def handle_conn(self, sock, addr, cid):
        try:
            prof = os.environ.get("VTGATE_SIM_PROFILE")
            if prof:
                import cProfile
                cProfile.runctx("Connection(self, sock, addr, cid).run()", globals(), locals(),
                                "%s.%d" % (prof, cid))
            else:
                Connection(self, sock, addr, cid).run()
        except Exception:
            log("conn %d crashed:\n%s" % (cid, traceback.format_exc()), 0)
        finally:
            try:
                sock.close()
            except OSError:
                pass


class Stream:
    def __init__(self, conn, sid, headers):
        self.conn = conn
        self.sid = sid
        self.headers = headers
        self.reqbuf = bytearray()
        self.state = "recv"          # recv -> active -> done
        self.headers_sent = False
        self.items = None
        self.sent = 0
        self.pending = None
        self.poff = 0
        self.wake = None
        self.hb = 0.0
        self.last_send = time.monotonic()
        self.idle = False
        self.stalled = False
        self.stalled_after = False   # stall once the pending bytes are out (huge_header)
        self.split = False
        self.coalesce = 0
        self.faults = []             # armed faults (not yet fired)


class Connection:
    HIGH_WATER = 1 << 20

    def __init__(self, server, sock, addr, cid):
        self.server = server
        self.pb = server.pb
        self.sock = sock
        self.addr = addr
        self.cid = cid
        self.streams = {}
        self.outbuf = bytearray()
        self.close_after_flush = False
        self.abort_rst = False
        self.closed = False
        self.frozen = False
        self.tls = server.ssl_ctx is not None
        self.alpn = None
        self.client_cn = None

    # ---- socket ----------------------------------------------------
    def run(self):
        sock = self.sock
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.tls:
            sock.settimeout(10)
            try:
                sock = self.server.ssl_ctx.wrap_socket(sock, server_side=True)
            except (ssl.SSLError, OSError) as e:
                log("conn %d: TLS handshake failed: %s" % (self.cid, e))
                return
            self.sock = sock
            self.alpn = sock.selected_alpn_protocol()
            cert = sock.getpeercert()
            if cert:
                for rdn in cert.get("subject", ()):
                    for k, v in rdn:
                        if k == "commonName":
                            self.client_cn = v
        sock.setblocking(False)
        log("conn %d from %s tls=%s alpn=%s" % (self.cid, self.addr, self.tls, self.alpn))
        cfg = h2.config.H2Configuration(client_side=False, header_encoding="utf-8")
        self.h2 = h2.connection.H2Connection(config=cfg)
        self.h2.local_settings = h2.settings.Settings(client=False, initial_values={
            h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: 100,
            h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 1 << 20,
            h2.settings.SettingCodes.MAX_FRAME_SIZE: 16384,
        })
        self.h2.initiate_connection()
        self.h2.increment_flow_control_window((1 << 24) - 65535)
        self.flush_h2()
        sel = selectors.DefaultSelector()
        sel.register(sock, selectors.EVENT_READ)
        cur_events = selectors.EVENT_READ
        try:
            while not self.closed:
                if self.frozen:
                    # hung peer simulation: read and discard, never answer
                    sel.modify(sock, selectors.EVENT_READ)
                    if sel.select(1.0):
                        try:
                            if not sock.recv(65536):
                                break
                        except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
                            pass
                        except OSError:
                            break
                    continue
                now = time.monotonic()
                self.pump_all(now)
                self.write_out()
                if self.closed:
                    break
                if self.close_after_flush and not self.outbuf:
                    break
                want = selectors.EVENT_READ | (selectors.EVENT_WRITE if self.outbuf else 0)
                if want != cur_events:
                    sel.modify(sock, want)
                    cur_events = want
                timeout = self.next_timeout(time.monotonic())
                if self.tls and sock.pending():
                    timeout = 0
                if not self.outbuf and self.blocked_by_high_water():
                    # send_pending stopped at HIGH_WATER, not for lack of
                    # window: keep pumping once the buffer has drained
                    timeout = 0
                evs = sel.select(timeout)
                for key, mask in evs:
                    if mask & selectors.EVENT_READ:
                        if not self.read_in():
                            self.closed = True
                            break
                if self.tls and not self.closed and sock.pending():
                    if not self.read_in():
                        self.closed = True
        finally:
            sel.close()
            self.shutdown()
            log("conn %d closed" % self.cid)

    def shutdown(self):
        sock = self.sock
        try:
            if self.abort_rst:
                # RST: the peer may lose data it has not read yet
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            elif self.close_after_flush:
                # FIN after everything was written; drain the peer's input so
                # that close() does not turn into an RST
                sock.setblocking(True)
                sock.shutdown(socket.SHUT_WR)
                sock.settimeout(0.5)
                deadline = time.monotonic() + 2
                while time.monotonic() < deadline:
                    try:
                        if not sock.recv(65536):
                            break
                    except (socket.timeout, ssl.SSLError):
                        break
        except OSError:
            pass
        try:
            sock.close()
        except OSError:
            pass

    def read_in(self):
        while True:
            try:
                data = self.sock.recv(65536)
            except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
                return True
            except (ConnectionError, OSError, ssl.SSLError) as e:
                log("conn %d read error: %s" % (self.cid, e))
                return False
            if not data:
                return False
            try:
                events = self.h2.receive_data(data)
            except h2.exceptions.ProtocolError as e:
                log("conn %d h2 protocol error: %s" % (self.cid, e), 0)
                self.flush_h2()
                self.write_out()
                return False
            for ev in events:
                self.handle_event(ev)
            self.flush_h2()
            if self.closed:
                return False

    def write_out(self):
        while self.outbuf:
            try:
                n = self.sock.send(self.outbuf[:1 << 18])
            except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
                return
            except (ConnectionError, OSError, ssl.SSLError) as e:
                log("conn %d write error: %s" % (self.cid, e))
                self.closed = True
                return
            del self.outbuf[:n]

    def frame_flood(self, seconds):
        """Connection WINDOW_UPDATEs of 1 (frames that need no answer), written
        raw as fast as the socket takes them, for `seconds`: the peer never
        finds its socket empty.  This connection's thread does nothing else."""
        self.flush_h2()
        self.write_out()
        frame = b"\x00\x00\x04\x08\x00\x00\x00\x00\x00\x00\x00\x00\x01"
        chunk = memoryview(frame * 20000)
        until = time.monotonic() + seconds
        off = 0
        try:
            while time.monotonic() < until and not self.closed:
                try:
                    off += self.sock.send(chunk[off:])
                    if off >= len(chunk):
                        off = 0
                except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
                    select.select([], [self.sock], [], 0.05)
        except (ConnectionError, OSError, ssl.SSLError):
            self.closed = True
            return
        # finish the frame in progress
        while 0 < off < len(chunk) and not self.closed:
            rest = len(chunk) - off
            rest = rest % len(frame)
            if rest == 0:
                break
            try:
                off += self.sock.send(chunk[off:off + rest])
            except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
                select.select([], [self.sock], [], 0.05)
            except (ConnectionError, OSError, ssl.SSLError):
                self.closed = True
                return

    def flush_h2(self):
        d = self.h2.data_to_send()
        if d:
            self.outbuf += d

    def next_timeout(self, now):
        t = 5.0
        for st in self.streams.values():
            if st.state != "active" or st.stalled:
                continue
            if st.pending is not None:
                continue          # waiting for window/socket: events will wake us
            cand = []
            if st.wake is not None:
                cand.append(st.wake)
            if st.hb and (st.idle or st.wake is not None):
                cand.append(st.last_send + st.hb)
            if not cand and not st.idle:
                return 0
            for c in cand:
                t = min(t, max(0.0, c - now))
        return t

    # ---- h2 events -------------------------------------------------
    def handle_event(self, ev):
        if isinstance(ev, h2.events.RequestReceived):
            self.streams[ev.stream_id] = Stream(self, ev.stream_id, ev.headers)
            if ev.stream_ended:
                self.request_complete(self.streams[ev.stream_id])
        elif isinstance(ev, h2.events.DataReceived):
            st = self.streams.get(ev.stream_id)
            try:
                self.h2.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError):
                pass
            if st is not None and st.state == "recv":
                st.reqbuf += ev.data
                if len(st.reqbuf) >= 5:
                    n = struct.unpack(">I", bytes(st.reqbuf[1:5]))[0]
                    if len(st.reqbuf) >= 5 + n:
                        self.request_complete(st)
        elif isinstance(ev, h2.events.StreamEnded):
            st = self.streams.get(ev.stream_id)
            if st is not None and st.state == "recv":
                self.request_complete(st)
        elif isinstance(ev, h2.events.StreamReset):
            st = self.streams.pop(ev.stream_id, None)
            log("conn %d stream %d reset by client (code %s) after %d msgs" %
                (self.cid, ev.stream_id, ev.error_code, st.sent if st else -1))
        elif isinstance(ev, h2.events.ConnectionTerminated):
            log("conn %d GOAWAY from client (code %s)" % (self.cid, ev.error_code))
            self.close_after_flush = True

    def send_error(self, st, code, message):
        """Trailers-only response (or trailers after headers)."""
        hdrs = []
        if not st.headers_sent:
            hdrs = [(":status", "200"), ("content-type", "application/grpc")]
            st.headers_sent = True
        hdrs.append(("grpc-status", str(code)))
        if message:
            hdrs.append(("grpc-message", pct_encode(message)))
        try:
            self.h2.send_headers(st.sid, hdrs, end_stream=True)
        except h2.exceptions.StreamClosedError:
            pass
        st.state = "done"
        self.streams.pop(st.sid, None)
        log("conn %d stream %d ended: status %d %s (after %d msgs)" % (self.cid, st.sid, code, message, st.sent))

    def request_complete(self, st):
        srv = self.server
        st.state = "active"
        hdrs = dict(st.headers)
        path = hdrs.get(":path", "")
        with srv.lock:
            srv.stream_seq += 1
            seq = srv.stream_seq
        meta = {}
        for k, v in st.headers:
            if k.startswith(":"):
                continue
            meta[k] = "***" if k == "password" else v
        # headers the client sent with HPACK's never-indexed representation
        never_indexed = sorted(h[0] for h in st.headers if not getattr(h, "indexable", True))
        rec = {"time": time.time(), "conn": self.cid, "stream": st.sid, "seq": seq, "path": path,
               "peer": "%s:%s" % (self.addr[0], self.addr[1]), "tls": self.tls, "alpn": self.alpn,
               "client_cert_cn": self.client_cn, "authority": hdrs.get(":authority"),
               "metadata": meta, "never_indexed": never_indexed, "password_ok": None}
        try:
            if srv.auth is not None:
                ok = hdrs.get("username") == srv.auth[0] and hdrs.get("password") == srv.auth[1]
                rec["password_ok"] = ok
            if path != VSTREAM_PATH:
                svc = path.lstrip("/").split("/")[0]
                if svc != "vtgateservice.Vitess":
                    raise GrpcError(UNIMPLEMENTED, "unknown service %s" % svc)
                raise GrpcError(UNIMPLEMENTED, "unknown method %s for service %s" % (path.split("/")[-1], svc))
            if srv.auth is not None and not rec["password_ok"]:
                if "username" not in hdrs or "password" not in hdrs:
                    raise GrpcError(UNAUTHENTICATED, "username and password must be provided")
                raise GrpcError(UNAUTHENTICATED, "invalid credentials for user %s" % hdrs.get("username"))
            buf = bytes(st.reqbuf)
            if len(buf) < 5:
                raise GrpcError(INTERNAL, "grpc: request message missing")
            flag, n = struct.unpack(">BI", buf[:5])
            if flag != 0:
                raise GrpcError(UNIMPLEMENTED, "grpc: compressed request not supported")
            req = self.pb.vtgate.VStreamRequest()
            try:
                req.ParseFromString(buf[5:5 + n])
            except Exception as e:
                raise GrpcError(INTERNAL, "grpc: error unmarshalling request: %s" % e)
            rec["request"] = self.pb.json_format.MessageToDict(req)
            rec["request_bytes"] = len(buf) - 5
            mode, preamble, start = srv.source.resolve(req)
            rec["resolved"] = mode
            rec["start_index"] = start
            rec["preamble"] = len(preamble)
            if isinstance(preamble, ShardPlan):
                rec["shard_starts"] = preamble.describe()
        except GrpcError as e:
            rec["resolved"] = "error"
            rec["error"] = {"code": e.code, "message": e.message}
            srv.log_request(rec)
            log("conn %d stream %d request rejected: %d %s" % (self.cid, st.sid, e.code, e.message))
            self.send_error(st, e.code, e.message)
            return
        srv.log_request(rec)
        log("conn %d stream %d request %s start=%d preamble=%d hb=%d" % (
            self.cid, st.sid, mode, start, len(preamble), req.flags.heartbeat_interval))
        ctx = StreamCtx(req)
        st.items = srv.source.items(ctx, preamble, start)
        st.hb = float(req.flags.heartbeat_interval)
        with FAULT_LOCK:
            st.faults = [f for f in srv.faults if f.times is None or f.fired < f.times]
        st.faults.sort(key=lambda f: f.at)
        for f in [f for f in st.faults if f.kind == "frame_flood" and f.p.get("when", "headers") == "headers"]:
            # frames keep arriving, but no response headers
            with FAULT_LOCK:
                f.fired += 1
            st.faults.remove(f)
            log("conn %d stream %d: fault frame_flood before the headers" % (self.cid, st.sid), 0)
            self.frame_flood(float(f.p.get("seconds", 30)))
            if self.closed:
                return
        self.h2.send_headers(st.sid, [(":status", "200"), ("content-type", "application/grpc")])
        st.headers_sent = True
        st.last_send = time.monotonic()

    # ---- sending ---------------------------------------------------
    def blocked_by_high_water(self):
        """True if a stream has data to send and flow-control window left."""
        h = self.h2
        if h.outbound_flow_control_window <= 0:
            return False
        for st in self.streams.values():
            if st.state != "active" or st.pending is None:
                continue
            stream = h.streams.get(st.sid)
            if stream is not None and not stream.closed and stream.outbound_flow_control_window > 0:
                return True
        return False

    def pump_all(self, now):
        for st in list(self.streams.values()):
            if st.state == "active":
                try:
                    self.pump(st, now)
                except h2.exceptions.StreamClosedError:
                    self.streams.pop(st.sid, None)
                if self.close_after_flush or self.closed:
                    break
        self.flush_h2()

    def queue(self, st, payload, now):
        st.pending = payload
        st.poff = 0
        st.last_send = now

    def send_pending(self, st):
        """Send st.pending as DATA frames, as far as flow control allows.

        DATA frames are written directly (h2's send_data costs ~10us per
        frame); h2's flow-control windows and stream state are kept exact.
        """
        h = self.h2
        stream = h.streams.get(st.sid)
        if stream is None or stream.closed:
            raise h2.exceptions.StreamClosedError(st.sid)
        self.flush_h2()
        data = st.pending
        total = len(data)
        maxf = h.max_outbound_frame_size
        tail = b"\x00\x00" + struct.pack(">I", st.sid)
        out = self.outbuf
        send_input = stream.state_machine.process_input
        while st.poff < total:
            if len(out) > self.HIGH_WATER:
                return False
            window = min(h.outbound_flow_control_window, stream.outbound_flow_control_window)
            if window <= 0:
                return False
            n = 1 if st.split else min(window, maxf, total - st.poff)
            send_input(h2.stream.StreamInputs.SEND_DATA)
            out += struct.pack(">I", n)[1:] + tail
            out += data[st.poff:st.poff + n]
            stream.outbound_flow_control_window -= n
            h.outbound_flow_control_window -= n
            st.poff += n
        st.pending = None
        return True

    def fire(self, st, f, now):
        """Apply fault f. Returns False if the stream must stop pumping."""
        with FAULT_LOCK:
            f.fired += 1
        st.faults.remove(f)
        p = f.p
        log("conn %d stream %d: fault %s after %d msgs" % (self.cid, st.sid, f.kind, st.sent), 0)
        k = f.kind
        if k == "close":
            if p.get("rst"):
                self.abort_rst = True
            self.close_after_flush = True
            st.state = "done"
            return False
        if k == "rst_stream":
            self.h2.reset_stream(st.sid, int(p.get("code", h2.errors.ErrorCodes.INTERNAL_ERROR)))
            st.state = "done"
            self.streams.pop(st.sid, None)
            return False
        if k == "goaway":
            self.h2.close_connection(error_code=int(p.get("code", 0)),
                                     last_stream_id=int(p.get("last_stream_id", st.sid)),
                                     additional_data=str(p.get("debug", "")).encode() or None)
            self.close_after_flush = True
            st.state = "done"
            return False
        if k == "status":
            self.send_error(st, int(p.get("code", UNAVAILABLE)), str(p.get("message", "injected fault")))
            return False
        if k == "malformed":
            payload = p.get("hex")
            payload = bytes.fromhex(payload) if payload else b"\x0a\x64\x08\x0c\xff\xff"
            self.queue(st, grpc_frame(payload), now)
            return True
        if k in ("oversize", "huge_header"):
            if k == "huge_header" or p.get("claim"):
                claim = int(p.get("claim", 0xFFFFFFFF))
                self.queue(st, struct.pack(">BI", 0, claim) + b"\x0a" * int(p.get("then_bytes", 1024)), now)
                st.stalled_after = True
                return True
            size = int(p.get("size", 5 * 1024 * 1024))

            def mk(n):
                ev = b"\x08\x0b" + ld(b"\x22", b"/*" + b"x" * max(0, n) + b"*/")
                return ld(b"\x0a", ev + ld(b"\xb2\x01", b"oversize") + ld(b"\xba\x01", b"0"))
            n = size - 40
            for _ in range(3):
                n += size - len(mk(n))
            self.queue(st, grpc_frame(mk(n)), now)
            return True
        if k == "stall":
            st.stalled = True
            if p.get("freeze"):
                self.frozen = True
            return False
        if k == "split_every_byte":
            st.split = True
            return True
        if k == "coalesce":
            st.coalesce = int(p.get("count", 8))
            return True
        if k == "bad_frame":
            garbage = bytes.fromhex(p["hex"]) if p.get("hex") else b"\x1f\x8b\x08\x00garbage!garbage!"
            self.queue(st, struct.pack(">BI", int(p.get("flag", 1)), len(garbage)) + garbage, now)
            return True
        if k == "delay":
            st.wake = now + float(p.get("seconds", 1.0))
            return True
        if k == "frame_flood":
            # the start of a message, then frames that carry no data
            self.h2.send_data(st.sid, struct.pack(">BI", 0, 1000) + b"\x0a" * 10)
            self.flush_h2()
            self.write_out()
            self.frame_flood(float(p.get("seconds", 30)))
            st.stalled = True
            return False
        raise AssertionError(k)

    def next_item(self, st):
        if st.items is None:
            return None
        try:
            return next(st.items)
        except StopIteration:
            st.items = None
            return None

    def pump(self, st, now):
        while st.state == "active":
            if st.pending is not None:
                if not self.send_pending(st):
                    return
                if st.stalled_after:
                    st.stalled = True
                if st.stalled:
                    return
                continue
            if st.stalled:
                return
            due_wake = st.wake is not None and now < st.wake
            if st.hb and (st.idle or due_wake) and now - st.last_send >= st.hb:
                self.queue(st, grpc_frame(heartbeat_bytes()), now)
                continue
            if due_wake:
                return
            st.wake = None
            # faults due at this message count
            fired = False
            for f in list(st.faults):
                if f.at <= st.sent:
                    fired = True
                    if not self.fire(st, f, now):
                        return
                    break
            if fired:
                continue
            if st.idle:
                return
            item = self.next_item(st)
            if item is None:
                end = self.server.end
                if end is not None and "status" in end:
                    self.send_error(st, int(end["status"]), end.get("message", ""))
                    return
                st.idle = True
                continue
            if item[0] == "sleep":
                st.wake = now + item[1]
                continue
            if item[0] == "framed":
                # several responses, already gRPC-framed
                st.sent += item[2]
                self.queue(st, item[1], now)
                continue
            payload = grpc_frame(item[1])
            st.sent += 1
            if st.coalesce > 1:
                parts = [payload]
                size = len(payload)
                while len(parts) < st.coalesce and size < self.h2.max_outbound_frame_size:
                    if any(f.at <= st.sent for f in st.faults):
                        break
                    nxt = self.next_item(st)
                    if nxt is None:
                        break
                    if nxt[0] == "sleep":
                        st.wake = now + nxt[1]
                        break
                    if nxt[0] == "framed":
                        parts.append(nxt[1])
                        st.sent += nxt[2]
                        break
                    fr = grpc_frame(nxt[1])
                    parts.append(fr)
                    size += len(fr)
                    st.sent += 1
                payload = b"".join(parts)
            self.queue(st, payload, now)


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------

def bench(source):
    """Measure raw generation speed (no network)."""
    ctx = StreamCtx(None)
    t0 = time.perf_counter()
    nbytes = rows = 0
    for i in range(source.n_steps):
        b = source.render(i, ctx)
        nbytes += len(b)
        rows += source.rows_in_step(i)
    dt = time.perf_counter() - t0
    print("steps=%d rows=%d bytes=%d time=%.3fs rows/s=%.0f MB/s=%.1f" % (
        source.n_steps, rows, nbytes, dt, rows / dt if dt else 0, nbytes / dt / 1e6 if dt else 0))


def main(argv=None):
    global VERBOSE
    ap = argparse.ArgumentParser(description="scripted test VTGate for VStream")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--scenario")
    ap.add_argument("--generate", help="copy:N[,batch=B,txns=M] | txns:N | bigtxn:N[,per_resp=500]; prerender=1: encode at start-up")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--tls-client-ca")
    ap.add_argument("--require-auth", metavar="USER:PASS")
    ap.add_argument("--request-log")
    ap.add_argument("--pidfile")
    ap.add_argument("--fault", action="append", default=[], help="kind[:at][,key=val...][,once] or JSON")
    ap.add_argument("--end", metavar="STATUS[:MESSAGE]", help="end the stream with this status after the log")
    ap.add_argument("--proto-dir", default=DEFAULT_PROTO_DIR)
    ap.add_argument("--gen-dir", help="where protoc writes the *_pb2.py (default: a temp dir)")
    ap.add_argument("--bench", action="store_true", help="measure generator speed and exit")
    ap.add_argument("-v", "--verbose", action="count", default=0)
    args = ap.parse_args(argv)
    VERBOSE = args.verbose
    if bool(args.scenario) == bool(args.generate):
        ap.error("exactly one of --scenario or --generate is required")
    if args.tls_key and not args.tls_cert:
        ap.error("--tls-key needs --tls-cert")
    if args.tls_client_ca and not args.tls_cert:
        ap.error("--tls-client-ca needs --tls-cert")
    pb = PB(args.proto_dir, args.gen_dir)
    if args.scenario:
        source = ScenarioSource(pb, args.scenario)
    else:
        source = BenchGen(pb, args.generate)
    if args.bench:
        if not isinstance(source, BenchGen):
            ap.error("--bench needs --generate")
        bench(source)
        return 0
    faults = [Fault(d) for d in source.faults] + [Fault(parse_fault_cli(s)) for s in args.fault]

    def on_term(signum, frame):
        if args.pidfile:
            try:
                os.unlink(args.pidfile)
            except OSError:
                pass
        os._exit(0)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    Server(args, pb, source, faults).serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
