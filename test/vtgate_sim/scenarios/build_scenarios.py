#!/usr/bin/python3
"""Builds copy_two_shards.json and replication.json (run from anywhere).

The JSON files are the artifacts the tests use; this script only keeps the
VGTID bookkeeping consistent. Shapes follow /work/shared/captures (VTGate
e2e test expectations, vstream_client.go outputs, grpcurl JSON) and the
semantics reference (copy phase §4, replication grouping §2).
"""

import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))

# query.Type
INT64, UINT64, INT8, FLOAT32, FLOAT64 = "INT64", "UINT64", "INT8", "FLOAT32", "FLOAT64"
PK_FLAGS = 53251        # NOT_NULL|PRI_KEY|NO_DEFAULT_VALUE|PART_KEY|NUM
PK_AI_FLAGS = 49667     # NOT_NULL|PRI_KEY|AUTO_INCREMENT|PART_KEY|NUM
NUM = 32768
BINARY = 128


def fld(name, typ, table, db, length, charset, flags=0, column_type=None, decimals=0):
    f = {"name": name, "type": typ, "table": table, "orgTable": table, "database": db, "orgName": name,
         "columnLength": length, "charset": charset}
    if decimals:
        f["decimals"] = decimals
    if flags:
        f["flags"] = flags
    if column_type:
        f["columnType"] = column_type
    return f


class Log:
    def __init__(self, ks, shards, uuids, bases):
        self.ks = ks
        self.shards = shards
        self.uuid = uuids
        self.n = dict(bases)
        self.gtid = {s: "" for s in shards}
        self.tpk = {s: None for s in shards}
        self.responses = []
        self.t = 1716372000
        self.ct = self.t * 1000000000 + 123456000

    # ---- positions -----------------------------------------------------
    def set_gtid(self, s):
        self.gtid[s] = "MySQL56/%s:1-%d" % (self.uuid[s], self.n[s])

    def bump(self, s):
        self.n[s] += 1
        self.set_gtid(s)

    def vgtid_obj(self):
        sgs = []
        for s in self.shards:
            sg = {"keyspace": self.ks, "shard": s}
            if self.gtid[s]:
                sg["gtid"] = self.gtid[s]
            if self.tpk[s]:
                table, pkfields, cells = self.tpk[s]
                sg["tablePKs"] = [{"tableName": table,
                                   "lastpk": {"fields": pkfields, "rows": [{"cells": cells}]}}]
            sgs.append(sg)
        return {"shardGtids": sgs}

    # ---- events --------------------------------------------------------
    def ts(self, ev, ts):
        if ts:
            self.ct += 1377000
            ev["timestamp"] = str(self.t)
            ev["currentTime"] = str(self.ct)
        return ev

    def e(self, typ, s=None, ts=False, **kw):
        ev = {"type": typ}
        ev.update(kw)
        if s is not None:
            ev["keyspace"] = self.ks
            ev["shard"] = s
        return self.ts(ev, ts)

    def field(self, s, table, fields, ts=False, enum_set=True):
        fe = {"tableName": "%s.%s" % (self.ks, table), "fields": fields, "keyspace": self.ks, "shard": s}
        if enum_set:
            fe["enumSetStringValues"] = True
        return self.e("FIELD", s, ts, fieldEvent=fe)

    def row(self, s, table, changes, ts=False, flags=None):
        rcs = []
        for before, after in changes:
            rc = {}
            if before is not None:
                rc["before"] = {"cells": before}
            if after is not None:
                rc["after"] = {"cells": after}
            rcs.append(rc)
        re = {"tableName": "%s.%s" % (self.ks, table), "rowChanges": rcs, "keyspace": self.ks, "shard": s}
        if flags is not None:
            re["flags"] = flags
        return self.e("ROW", s, ts, rowEvent=re)

    def vgtid(self, s):
        return self.e("VGTID", s, vgtid=self.vgtid_obj())

    def add(self, *events, comment=None):
        r = {"events": list(events)}
        if comment:
            r = {"comment": comment, **r}
        self.responses.append(r)

    def tick(self, secs=1):
        self.t += secs
        self.ct = self.t * 1000000000 + 123456000


def dump(name, obj):
    path = os.path.join(HERE, name)
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")
    print("wrote", path, len(obj["responses"]), "entries")


def copy_two_shards():
    ks = "customer"
    db = "vt_customer"
    L = Log(ks, ["-80", "80-"], {"-80": "7b8e4a10-1c2d-11ef-8a3b-0242ac120002",
                                  "80-": "8c9f5b21-1c2d-11ef-8a3b-0242ac120003"},
            {"-80": 20, "80-": 30})

    def customer_fields(phone=False):
        f = [fld("customer_id", INT64, "customer", db, 20, 63, PK_FLAGS, "bigint"),
             fld("email", "VARCHAR", "customer", db, 512, 255, 0, "varchar(128)")]
        if phone:
            f.append(fld("phone", "VARCHAR", "customer", db, 80, 255, 0, "varchar(20)"))
        return f

    corder_fields = [fld("order_id", INT64, "corder", db, 20, 63, PK_FLAGS, "bigint"),
                     fld("customer_id", INT64, "corder", db, 20, 63, NUM, "bigint"),
                     fld("sku", "VARBINARY", "corder", db, 128, 63, BINARY, "varbinary(128)"),
                     fld("price", INT64, "corder", db, 20, 63, NUM, "bigint")]
    product_fields = [fld("sku", "VARBINARY", "product", db, 128, 63, 20611, "varbinary(128)"),
                      fld("description", "VARBINARY", "product", db, 128, 63, BINARY, "varbinary(128)"),
                      fld("price", INT64, "product", db, 20, 63, NUM, "bigint")]

    def lastpk(table, col, value):
        return (table, [{"name": col, "type": INT64, "charset": 63, "flags": PK_FLAGS}], [str(value)])

    A, B = "-80", "80-"
    # ---------------- copy phase: tables in name order corder, customer, product
    L.add(L.e("BEGIN", A), L.field(A, "corder", corder_fields), comment="copy -80: corder, first batch")
    L.set_gtid(A)
    L.add(L.vgtid(A), comment="snapshot position of -80 (80- has no position yet: empty gtid)")
    L.tpk[A] = lastpk("corder", "order_id", 2)
    L.add(L.row(A, "corder", [(None, ["1", "1", "SKU-1001", "100"])]),
          L.row(A, "corder", [(None, ["2", "2", "SKU-1002", "30"])]),
          L.vgtid(A), L.e("COMMIT", A))
    L.add(L.e("BEGIN", B), L.field(B, "corder", corder_fields), comment="copy 80-: corder")
    L.set_gtid(B)
    L.add(L.vgtid(B))
    L.tpk[B] = lastpk("corder", "order_id", 5)
    L.add(L.row(B, "corder", [(None, ["4", "4", "SKU-1002", "30"])]),
          L.row(B, "corder", [(None, ["5", "5", "SKU-1001", "100"])]),
          L.vgtid(B), L.e("COMMIT", B))
    L.tpk[A] = lastpk("corder", "order_id", 3)
    L.add(L.e("BEGIN", A), L.row(A, "corder", [(None, ["3", "3", "SKU-1003", "15"])]),
          L.vgtid(A), L.e("COMMIT", A), comment="-80 corder second batch (own BEGIN)")
    L.tpk[A] = None
    L.add(L.e("BEGIN", A), L.vgtid(A), L.e("COMMIT", A), comment="-80 corder done: table_p_ks entry removed")
    L.tpk[B] = None
    L.add(L.e("BEGIN", B), L.vgtid(B), L.e("COMMIT", B), comment="80- corder done")
    L.add(L.e("BEGIN", A), L.field(A, "customer", customer_fields()), comment="-80 customer (same snapshot: no VGTID)")
    L.tpk[A] = lastpk("customer", "customer_id", 3)
    L.add(L.row(A, "customer", [(None, ["1", "alice@domain.com"])]),
          L.row(A, "customer", [(None, ["2", "bob@domain.com"])]),
          L.row(A, "customer", [(None, ["3", "charlie@domain.com"])]),
          L.vgtid(A), L.e("COMMIT", A))
    L.tpk[A] = None
    L.add(L.e("BEGIN", A), L.vgtid(A), L.e("COMMIT", A))
    L.add(L.e("BEGIN", A), L.field(A, "product", product_fields),
          comment="-80 product is EMPTY: [BEGIN, FIELD] never committed (semantics 4.3)")
    L.add(L.e("BEGIN", A), L.vgtid(A), L.e("COMMIT", A), comment="second BEGIN without COMMIT in between")
    L.add(L.e("COPY_COMPLETED", A), comment="-80 copy done")
    # replication on -80 while 80- still copies
    L.tick()
    L.bump(A)
    L.add(L.e("BEGIN", A, ts=True), L.field(A, "customer", customer_fields(), ts=True),
          L.row(A, "customer", [(None, ["7", "grace@domain.com"])], ts=True, flags=1),
          L.vgtid(A), L.e("COMMIT", A, ts=True),
          comment="-80 replicates before the stream-wide COPY_COMPLETED")
    L.add(L.e("BEGIN", B), L.field(B, "customer", customer_fields()), comment="80- customer")
    L.tpk[B] = lastpk("customer", "customer_id", 5)
    L.add(L.row(B, "customer", [(None, ["4", "dan@domain.com"])]),
          L.row(B, "customer", [(None, ["5", "eve@domain.com"])]),
          L.vgtid(B), L.e("COMMIT", B))
    L.tpk[B] = None
    L.add(L.e("BEGIN", B), L.vgtid(B), L.e("COMMIT", B))
    L.add(L.e("BEGIN", B), L.field(B, "product", product_fields), comment="80- product empty")
    L.add(L.e("BEGIN", B), L.vgtid(B), L.e("COMMIT", B))
    L.add(L.e("COPY_COMPLETED", B), L.e("COPY_COMPLETED"),
          comment="last shard done + stream-wide COPY_COMPLETED in the same response")
    L.responses.append({"mark": "current"})
    # ---------------- replication
    L.tick(5)
    L.bump(A)
    L.add(L.e("BEGIN", A, ts=True),
          L.row(A, "customer", [(None, ["8", "heidi@domain.com"]), (None, ["9", "ivan@domain.com"])],
                ts=True, flags=1),
          L.vgtid(A), L.e("COMMIT", A, ts=True), comment="multi-row insert: 2 row_changes in one ROW")
    L.bump(B)
    L.add(L.e("BEGIN", B, ts=True), L.field(B, "customer", customer_fields(), ts=True),
          L.row(B, "customer", [(["4", "dan@domain.com"], ["4", "dan@planetscale.com"])], ts=True, flags=1),
          L.vgtid(B), L.e("COMMIT", B, ts=True), comment="update")
    L.tick()
    L.bump(A)
    L.add(L.e("BEGIN", A, ts=True),
          L.row(A, "customer", [(["2", "bob@domain.com"], ["12", "bob@domain.com"])], ts=True, flags=1),
          L.vgtid(A), L.e("COMMIT", A, ts=True), comment="update changing the primary key 2 -> 12")
    L.bump(B)
    L.add(L.e("BEGIN", B, ts=True), L.field(B, "corder", corder_fields, ts=True),
          L.row(B, "corder", [(["5", "5", "SKU-1001", "100"], None)], ts=True, flags=1),
          L.vgtid(B), L.e("COMMIT", B, ts=True), comment="delete")
    L.tick()
    L.bump(A)
    L.add(L.e("BEGIN", A, ts=True), L.field(A, "corder", corder_fields, ts=True),
          L.row(A, "corder", [(None, ["10", "1", "SKU-1001", "100"])], ts=True, flags=1),
          L.row(A, "corder", [(None, ["11", "1", "SKU-1002", "30"])], ts=True, flags=1),
          comment="one transaction split over 3 responses (1/3)")
    L.add(L.row(A, "corder", [(None, ["12", "3", "SKU-1003", "15"])], ts=True, flags=1),
          L.row(A, "corder", [(["1", "1", "SKU-1001", "100"], ["1", "1", "SKU-1001", "90"])], ts=True, flags=1),
          comment="(2/3)")
    L.add(L.row(A, "corder", [(["3", "3", "SKU-1003", "15"], None)], ts=True, flags=1),
          L.vgtid(A), L.e("COMMIT", A, ts=True), comment="(3/3) VGTID + COMMIT")
    L.tick(2)
    L.bump(A)
    ddl = "alter table customer add column phone varchar(20)"
    L.add(L.vgtid(A), L.e("DDL", A, ts=True, statement=ddl), comment="[VGTID, DDL] on -80")
    L.bump(B)
    L.add(L.vgtid(B), L.e("DDL", B, ts=True, statement=ddl), comment="[VGTID, DDL] on 80-")
    L.tick()
    L.bump(A)
    L.add(L.e("BEGIN", A, ts=True), L.field(A, "customer", customer_fields(True), ts=True),
          L.row(A, "customer", [(None, ["13", "judy@domain.com", "+1-555-0100"])], ts=True, flags=1),
          L.row(A, "customer", [(None, ["15", "mallory@domain.com", None])], ts=True, flags=1),
          L.vgtid(A), L.e("COMMIT", A, ts=True), comment="new FIELD with the added column; NULL phone")
    L.bump(B)
    L.add(L.e("BEGIN", B, ts=True), L.field(B, "customer", customer_fields(True), ts=True),
          L.row(B, "customer", [(["4", "dan@planetscale.com", None], ["4", "dan@planetscale.com", "+1-555-0199"])],
                ts=True, flags=1),
          L.vgtid(B), L.e("COMMIT", B, ts=True))
    L.tick()
    L.bump(A)
    L.add(L.vgtid(A), L.e("OTHER", A, ts=True), comment="[VGTID, OTHER]")
    L.bump(B)
    L.add(L.e("BEGIN", B, ts=True), L.vgtid(B), L.e("COMMIT", B, ts=True), comment="empty transaction")
    dump("copy_two_shards.json", {
        "description": "keyspace customer, shards -80/80-: copy of corder, customer, product (empty), "
                       "then replication (insert, update, PK change, delete, 3-response trx, DDL + new FIELD, OTHER)",
        "responses": L.responses,
    })


def replication():
    ks = "commerce"
    db = "vt_commerce"
    S = "0"
    L = Log(ks, [S], {S: "9da06c32-1c2d-11ef-8a3b-0242ac120004"}, {S: 100})
    L.set_gtid(S)
    start = L.vgtid_obj()
    L.tick(60)
    customer_fields = [fld("customer_id", INT64, "customer", db, 20, 63, PK_AI_FLAGS, "bigint"),
                       fld("email", "VARCHAR", "customer", db, 512, 255, 0, "varchar(128)")]
    at = "all_types"
    all_fields = [
        fld("id", INT64, at, db, 20, 63, PK_FLAGS, "bigint"),
        fld("i8", INT8, at, db, 4, 63, NUM, "tinyint"),
        fld("u64", UINT64, at, db, 20, 63, 32 | NUM, "bigint unsigned"),
        fld("dec", "DECIMAL", at, db, 12, 63, NUM, "decimal(10,2)", decimals=2),
        fld("f32", FLOAT32, at, db, 12, 63, NUM, "float", decimals=31),
        fld("f64", FLOAT64, at, db, 22, 63, NUM, "double", decimals=31),
        fld("vc", "VARCHAR", at, db, 256, 255, 0, "varchar(64)"),
        fld("ch", "CHAR", at, db, 40, 255, 0, "char(10)"),
        fld("txt", "TEXT", at, db, 262140, 255, 16, "text"),
        fld("bl", "BLOB", at, db, 65535, 63, 16 | BINARY, "blob"),
        fld("vb", "VARBINARY", at, db, 16, 63, BINARY, "varbinary(16)"),
        fld("bn", "BINARY", at, db, 4, 63, BINARY, "binary(4)"),
        fld("d", "DATE", at, db, 10, 63, BINARY, "date"),
        fld("dt", "DATETIME", at, db, 26, 63, BINARY, "datetime(6)", decimals=6),
        fld("ts", "TIMESTAMP", at, db, 19, 63, BINARY, "timestamp"),
        fld("tm", "TIME", at, db, 10, 63, BINARY, "time"),
        fld("yr", "YEAR", at, db, 4, 63, 32 | 64 | NUM, "year"),
        fld("en", "ENUM", at, db, 24, 255, 256, "enum('small','medium','large')"),
        fld("st", "SET", at, db, 44, 255, 2048, "set('red','green','blue')"),
        fld("js", "JSON", at, db, 4294967295, 63, 16 | BINARY, "json"),
        fld("bt", "BIT", at, db, 8, 63, 32, "bit(8)"),
    ]
    full = ["1", "-128", "18446744073709551615", "12345678.90", "3.14", "2.718281828459045", "héllo wörld",
            "fixed", "some long text with 'quotes' and \\ backslash", {"hex": "00ff10"}, {"hex": "deadbeef"},
            {"hex": "61620000"}, "2024-05-22", "2024-05-22 10:11:12.123456", "2024-05-22 10:11:12", "-838:59:59",
            "2024", "medium", "red,blue", "{\"a\": [1, 2, {\"b\": null}]}", {"hex": "05"}]
    nulls = ["2"] + [None] * (len(all_fields) - 1)
    empties = ["3", "0", "0", "0.00", "0", "0", "", "", "", "", "", {"hex": "00000000"}, "0000-00-00",
               "0000-00-00 00:00:00.000000", "1970-01-01 00:00:01", "00:00:00", "0000", "", "", "null", {"hex": "00"}]
    L.bump(S)
    L.add(L.e("BEGIN", S, ts=True), L.field(S, "customer", customer_fields, ts=True, enum_set=False),
          L.row(S, "customer", [(None, ["1", "alice@domain.com"])], ts=True, flags=1),
          L.vgtid(S), L.e("COMMIT", S, ts=True), comment="insert")
    L.bump(S)
    L.add(L.e("BEGIN", S, ts=True), L.field(S, at, all_fields, ts=True, enum_set=True),
          L.row(S, at, [(None, full)], ts=True, flags=1),
          L.row(S, at, [(None, nulls)], ts=True, flags=1),
          L.row(S, at, [(None, empties)], ts=True, flags=1),
          L.vgtid(S), L.e("COMMIT", S, ts=True), comment="all MySQL types: full row, NULL row, empty/zero row")
    L.tick()
    L.bump(S)
    L.add(L.e("BEGIN", S, ts=True),
          L.row(S, "customer", [(None, ["2", "bob@domain.com"]), (None, ["3", "charlie@domain.com"])],
                ts=True, flags=1),
          L.row(S, "customer", [(["1", "alice@domain.com"], ["1", "alice@example.org"])], ts=True, flags=1),
          L.row(S, at, [(nulls, None)], ts=True, flags=1),
          L.vgtid(S), L.e("COMMIT", S, ts=True), comment="multi-table transaction: insert x2, update, delete")
    L.bump(S)
    L.add(L.e("BEGIN", S, ts=True), L.vgtid(S), L.e("COMMIT", S, ts=True), comment="empty transaction")
    L.tick()
    L.bump(S)
    L.add(L.e("BEGIN", S, ts=True),
          L.row(S, "customer", [(["2", "bob@domain.com"], None)], ts=True, flags=1),
          L.vgtid(S), L.e("COMMIT", S, ts=True), comment="delete")
    L.bump(S)
    L.add(L.vgtid(S), L.e("OTHER", S, ts=True), comment="[VGTID, OTHER]")
    dump("replication.json", {
        "description": "keyspace commerce, shard 0: 'current' start, then transactions incl. an all-types table",
        "current_vgtid": start,
        "responses": L.responses,
    })


if __name__ == "__main__":
    copy_two_shards()
    replication()
