"""Driver tests: the unmodified DataStax Python driver (Debian's python3-cassandra) against a
real ringdb node. The node's address and port come from RINGDB_HOST / RINGDB_PORT."""
import datetime
import decimal
import ipaddress
import os
import unittest
import uuid

from cassandra import AlreadyExists, FunctionFailure, InvalidRequest
from cassandra.cluster import Cluster
from cassandra.protocol import ConfigurationException, SyntaxException
from cassandra.query import BatchStatement, BatchType, SimpleStatement
from cassandra.util import Duration

HOST = os.environ.get("RINGDB_HOST", "127.0.0.1")
PORT = int(os.environ.get("RINGDB_PORT", "9042"))


class DriverTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster([HOST], port=PORT)  # protocol version negotiated, not pinned
        cls.session = cls.cluster.connect()
        cls.session.execute("DROP KEYSPACE IF EXISTS pytest")
        cls.session.execute(
            "CREATE KEYSPACE pytest WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
        cls.session.execute('USE "pytest"')

    @classmethod
    def tearDownClass(cls):
        cls.cluster.shutdown()

    def q(self, cql, *args):
        return list(self.session.execute(cql, *args))

    def test_connects_with_v4_and_reads_system_tables(self):
        self.assertEqual(self.cluster.protocol_version, 4)
        local = self.q("SELECT * FROM system.local WHERE key='local'")[0]
        self.assertEqual(local.partitioner, "org.apache.cassandra.dht.Murmur3Partitioner")
        self.assertEqual(local.data_center, "datacenter1")
        self.assertTrue(local.release_version.startswith("4."))
        self.assertEqual(self.q("SELECT * FROM system.peers"), [])
        self.assertIn("pytest", self.cluster.metadata.keyspaces)
        version = self.q("SELECT schema_version FROM system.local")[0].schema_version
        self.session.execute("CREATE TABLE IF NOT EXISTS version_bump (k int PRIMARY KEY)")
        self.assertNotEqual(self.q("SELECT schema_version FROM system.local")[0].schema_version, version)

    def test_ddl_and_schema_metadata(self):
        s = self.session
        s.execute("CREATE TABLE events (tenant text, day date, at timeuuid, kind text STATIC, payload blob, "
                  "PRIMARY KEY ((tenant, day), at)) WITH CLUSTERING ORDER BY (at DESC) AND default_time_to_live = 0 "
                  "AND gc_grace_seconds = 3600 AND comment = 'event log'")
        with self.assertRaises(AlreadyExists):
            s.execute("CREATE TABLE events (k int PRIMARY KEY)")
        s.execute("CREATE TABLE IF NOT EXISTS events (k int PRIMARY KEY)")
        # Options Cassandra cannot configure answer ConfigError, repeated ones a syntax error.
        with self.assertRaisesRegex(ConfigurationException,
                                    "Unable to find replication strategy class 'org.apache.cassandra.locator.NoSuch'"):
            s.execute("CREATE KEYSPACE nosuch WITH replication = {'class': 'NoSuch'}")
        with self.assertRaisesRegex(ConfigurationException,
                                    "Unable to find compaction strategy class 'org.apache.cassandra.db.compaction.Nope'"):
            s.execute("CREATE TABLE cx (k int PRIMARY KEY) WITH compaction = {'class': 'Nope'}")
        s.execute("CREATE TABLE cx (k int PRIMARY KEY) WITH compaction = "
                  "{'class': 'org.apache.cassandra.db.compaction.LeveledCompactionStrategy'}")
        with self.assertRaisesRegex(SyntaxException, "Multiple definition for property 'comment'"):
            s.execute("CREATE TABLE cy (k int PRIMARY KEY) WITH comment = 'a' AND comment = 'b'")
        table = self.cluster.metadata.keyspaces["pytest"].tables["events"]
        self.assertEqual([c.name for c in table.partition_key], ["tenant", "day"])
        self.assertEqual([c.name for c in table.clustering_key], ["at"])
        self.assertEqual(table.options["gc_grace_seconds"], 3600)
        self.assertTrue(table.columns["kind"].is_static)
        self.assertEqual(table.clustering_key[0].cql_type, "timeuuid")
        s.execute("ALTER TABLE events ADD source inet")
        s.execute("ALTER TABLE events DROP payload")
        table = self.cluster.metadata.keyspaces["pytest"].tables["events"]
        self.assertIn("source", table.columns)
        self.assertNotIn("payload", table.columns)
        # The dropped column is remembered, and comes back only with a type that reads its values.
        dropped = self.q("SELECT column_name, type FROM system_schema.dropped_columns "
                         "WHERE keyspace_name = 'pytest' AND table_name = 'events'")
        self.assertEqual([(r.column_name, r.type) for r in dropped], [("payload", "blob")])
        with self.assertRaisesRegex(InvalidRequest, "Cannot re-add previously dropped column 'payload'"):
            s.execute("ALTER TABLE events ADD payload list<int>")
        # Primary key columns can be renamed; the data stays.
        s.execute("INSERT INTO events (tenant, day, at, kind) VALUES ('t', '2026-01-02', now(), 'k')")
        s.execute("ALTER TABLE events RENAME at TO happened_at AND day TO on_day")
        table = self.cluster.metadata.keyspaces["pytest"].tables["events"]
        self.assertEqual([c.name for c in table.partition_key], ["tenant", "on_day"])
        self.assertEqual([c.name for c in table.clustering_key], ["happened_at"])
        rows = self.q("SELECT kind FROM events WHERE tenant = 't' AND on_day = '2026-01-02'")
        self.assertEqual([r.kind for r in rows], ["k"])
        with self.assertRaisesRegex(InvalidRequest, "Cannot rename non PRIMARY KEY column kind"):
            s.execute("ALTER TABLE events RENAME kind TO sort")
        with self.assertRaisesRegex(InvalidRequest, "no longer supported"):
            s.execute("ALTER TABLE events ALTER kind TYPE blob")
        s.execute("CREATE KEYSPACE other WITH replication = {'class': 'NetworkTopologyStrategy', 'datacenter1': 1} "
                  "AND durable_writes = false")
        s.execute("ALTER KEYSPACE other WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 2}")
        ks = self.cluster.metadata.keyspaces["other"]
        self.assertEqual(ks.replication_strategy.replication_factor, 2)
        self.assertFalse(ks.durable_writes)
        s.execute("DROP KEYSPACE other")
        self.assertNotIn("other", self.cluster.metadata.keyspaces)
        with self.assertRaises(InvalidRequest):
            s.execute("DROP TABLE no_such_table")
        s.execute("DROP TABLE IF EXISTS no_such_table")

    def test_all_native_types_round_trip(self):
        s = self.session
        s.execute("CREATE TABLE types (k int PRIMARY KEY, a ascii, b bigint, bl blob, bo boolean, d date, de decimal, "
                  "do double, du duration, f float, i inet, sm smallint, t text, ti time, ts timestamp, tu timeuuid, "
                  "tin tinyint, u uuid, vc varchar, vi varint)")
        tu = uuid.uuid1()
        u = uuid.uuid4()
        ts = datetime.datetime(2024, 2, 29, 13, 45, 1, 250000)
        values = (1, "abc", -(2 ** 62), b"\x00\xff", True, datetime.date(1969, 7, 20), decimal.Decimal("-12.050"),
                  1.5, Duration(1, 2, 3000000000), 2.5, "10.0.0.1", -300, "héllo", 3600 * 10 ** 9, ts, tu, -7, u,
                  "v", 10 ** 30)
        s.execute("INSERT INTO types (k, a, b, bl, bo, d, de, do, du, f, i, sm, t, ti, ts, tu, tin, u, vc, vi) "
                  "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", values)
        row = self.q("SELECT * FROM types WHERE k = 1")[0]
        self.assertEqual(row.a, "abc")
        self.assertEqual(row.b, -(2 ** 62))
        self.assertEqual(row.bl, b"\x00\xff")
        self.assertIs(row.bo, True)
        self.assertEqual(str(row.d), "1969-07-20")
        self.assertEqual(row.de, decimal.Decimal("-12.050"))
        self.assertEqual(row.do, 1.5)
        self.assertEqual(row.du, Duration(1, 2, 3000000000))
        # Duration literals written by the node itself: every nanosecond width.
        for literal, nanos in (("1h30m", 5400 * 10 ** 9), ("500us", 500000), ("500\u00b5s", 500000),
                               ("'2\u00b5s'", 2000), ("20ms", 20 * 10 ** 6),
                               ("3w", 0), ("1y2mo3d4h5m6s7ms8us9ns", 14706007008009)):
            s.execute("UPDATE types SET du = %s WHERE k = 1" % literal)
            months, days = (14, 3) if literal.startswith("1y") else (0, 21 if literal == "3w" else 0)
            self.assertEqual(self.q("SELECT du FROM types WHERE k = 1")[0].du, Duration(months, days, nanos), literal)
        for literal, expected in (("P1Y2M3DT4H5M6S", Duration(14, 3, 14706 * 10 ** 9)), ("P2W", Duration(0, 14, 0)),
                                  ("'P0001-02-03T04:05:06'", Duration(14, 3, 14706 * 10 ** 9))):
            s.execute("UPDATE types SET du = %s WHERE k = 1" % literal)
            self.assertEqual(self.q("SELECT du FROM types WHERE k = 1")[0].du, expected, literal)
        self.assertEqual(row.f, 2.5)
        self.assertEqual(row.i, "10.0.0.1")
        self.assertEqual(row.sm, -300)
        self.assertEqual(row.t, "héllo")
        self.assertEqual(row.ti.nanosecond_time, 3600 * 10 ** 9)
        self.assertEqual(row.ts, ts)
        self.assertEqual(row.tu, tu)
        self.assertEqual(row.tin, -7)
        self.assertEqual(row.u, u)
        self.assertEqual(row.vc, "v")
        self.assertEqual(row.vi, 10 ** 30)
        # The same through CQL literals.
        s.execute("INSERT INTO types (k, b, de, ts, u, bl, bo, i) VALUES (2, 42, 1.5e3, '2024-01-01 00:00:00+0000', "
                  "550e8400-e29b-41d4-a716-446655440000, 0xcafe, false, '::1')")
        row = self.q("SELECT b, de, ts, u, bl, bo, i FROM types WHERE k = 2")[0]
        self.assertEqual((row.b, row.de, row.bl, row.bo, row.i), (42, decimal.Decimal("1.5E+3"), b"\xca\xfe", False, "::1"))
        self.assertEqual(row.ts, datetime.datetime(2024, 1, 1))
        self.assertEqual(row.u, uuid.UUID("550e8400-e29b-41d4-a716-446655440000"))

    def test_collections_tuples_and_static_columns(self):
        s = self.session
        s.execute("CREATE TABLE coll (k int, c int, l list<int>, st set<text>, m map<text, int>, "
                  "fl frozen<list<int>>, tp tuple<int, text>, s text STATIC, PRIMARY KEY (k, c))")
        s.execute("INSERT INTO coll (k, c, l, st, m, fl, tp, s) VALUES (1, 1, [1, 2], {'b', 'a'}, {'x': 1}, [9, 8], "
                  "(7, 'seven'), 'shared')")
        s.execute("UPDATE coll SET l = l + [3], l = [0] + l, st = st + {'c'}, st = st - {'a'}, m['y'] = 2 "
                  "WHERE k = 1 AND c = 1")
        row = self.q("SELECT * FROM coll WHERE k = 1 AND c = 1")[0]
        self.assertEqual(row.l, [0, 1, 2, 3])
        self.assertEqual(row.st, {"b", "c"})
        self.assertEqual(row.m, {"x": 1, "y": 2})
        self.assertEqual(row.fl, [9, 8])
        self.assertEqual(row.tp, (7, "seven"))
        s.execute("DELETE m['x'] FROM coll WHERE k = 1 AND c = 1")
        s.execute("UPDATE coll SET m = m - {'y'}, st = {'z'} WHERE k = 1 AND c = 1")
        row = self.q("SELECT m, st FROM coll WHERE k = 1 AND c = 1")[0]
        self.assertIsNone(row.m)
        self.assertEqual(row.st, {"z"})
        s.execute("INSERT INTO coll (k, c) VALUES (1, 2)")
        self.assertEqual([r.s for r in self.q("SELECT s FROM coll WHERE k = 1")], ["shared", "shared"])
        s.execute("INSERT INTO coll (k, s) VALUES (2, 'only static')")
        rows = self.q("SELECT k, c, s FROM coll WHERE k = 2")
        self.assertEqual([(r.k, r.c, r.s) for r in rows], [(2, None, "only static")])

    def test_ttl_timestamp_writetime_and_deletes(self):
        s = self.session
        s.execute("CREATE TABLE tt (k int, c int, v int, PRIMARY KEY (k, c))")
        s.execute("INSERT INTO tt (k, c, v) VALUES (1, 1, 10) USING TTL 1000 AND TIMESTAMP 12345")
        row = self.q("SELECT WRITETIME(v) AS w, TTL(v) AS t FROM tt WHERE k = 1 AND c = 1")[0]
        self.assertEqual(row.w, 12345)
        self.assertTrue(990 <= row.t <= 1000)
        s.execute("INSERT INTO tt (k, c, v) VALUES (1, 1, 99) USING TIMESTAMP 100")  # older: loses
        self.assertEqual(self.q("SELECT v FROM tt WHERE k = 1 AND c = 1")[0].v, 10)
        for c in range(2, 10):
            s.execute("INSERT INTO tt (k, c, v) VALUES (1, %s, %s)", (c, c))
        s.execute("DELETE FROM tt WHERE k = 1 AND c >= 3 AND c < 6")
        self.assertEqual([r.c for r in self.q("SELECT c FROM tt WHERE k = 1")], [1, 2, 6, 7, 8, 9])
        s.execute("DELETE v FROM tt WHERE k = 1 AND c = 2")
        self.assertIsNone(self.q("SELECT v FROM tt WHERE k = 1 AND c = 2")[0].v)
        s.execute("DELETE FROM tt WHERE k = 1")
        self.assertEqual(self.q("SELECT * FROM tt WHERE k = 1"), [])
        s.execute("TRUNCATE tt")

    def test_counters_and_batches(self):
        s = self.session
        s.execute("CREATE TABLE hits (page text PRIMARY KEY, n counter)")
        s.execute("UPDATE hits SET n = n + 5 WHERE page = 'home'")
        s.execute("UPDATE hits SET n = n - 2 WHERE page = 'home'")
        self.assertEqual(self.q("SELECT n FROM hits WHERE page = 'home'")[0].n, 3)
        with self.assertRaises(InvalidRequest):
            s.execute("INSERT INTO hits (page, n) VALUES ('x', 1)")
        with self.assertRaisesRegex(InvalidRequest, "Cannot provide custom TTL for counter updates"):
            s.execute("UPDATE hits USING TTL 10 SET n = n + 1 WHERE page = 'home'")
        with self.assertRaisesRegex(InvalidRequest, "Cannot provide custom timestamp for counter updates"):
            s.execute("UPDATE hits USING TIMESTAMP 10 SET n = n + 1 WHERE page = 'home'")
        counter_batch = BatchStatement(batch_type=BatchType.COUNTER)
        counter_batch.add(SimpleStatement("UPDATE hits SET n = n + 1 WHERE page = 'a'"))
        counter_batch.add(SimpleStatement("UPDATE hits SET n = n + 1 WHERE page = 'a'"))
        s.execute(counter_batch)
        self.assertEqual(self.q("SELECT n FROM hits WHERE page = 'a'")[0].n, 2)
        s.execute("CREATE TABLE kv (k int PRIMARY KEY, v text)")
        ins = s.prepare("INSERT INTO kv (k, v) VALUES (?, ?)")
        batch = BatchStatement()
        for i in range(10):
            batch.add(ins, (i, str(i)))
        batch.add(SimpleStatement("DELETE FROM kv WHERE k = 0"))
        s.execute(batch)
        unlogged = BatchStatement(batch_type=BatchType.UNLOGGED)
        unlogged.add(SimpleStatement("INSERT INTO kv (k, v) VALUES (%s, %s)"), (100, "x"))
        s.execute(unlogged)
        self.assertEqual(self.q("SELECT count(*) FROM kv")[0].count, 10)
        s.execute("BEGIN BATCH INSERT INTO kv (k, v) VALUES (200, 'a'); UPDATE kv SET v = 'b' WHERE k = 201; APPLY BATCH")
        self.assertEqual(self.q("SELECT v FROM kv WHERE k = 201")[0].v, "b")
        # Cassandra's counter rules, for protocol batches and text batches alike.
        bump = SimpleStatement("UPDATE hits SET n = n + 1 WHERE page = 'b'")
        put = SimpleStatement("INSERT INTO kv (k, v) VALUES (300, 'c')")
        for kind, statements, message in (
                (BatchType.COUNTER, (bump, put), "Cannot include non-counter statement in a counter batch"),
                (BatchType.LOGGED, (bump,), "Cannot include a counter statement in a logged batch"),
                (BatchType.UNLOGGED, (bump, put), "Counter and non-counter mutations cannot exist in the same batch")):
            batch = BatchStatement(batch_type=kind)
            for one in statements:
                batch.add(one)
            with self.assertRaisesRegex(InvalidRequest, message):
                s.execute(batch)
            text = "BEGIN %sBATCH %s; APPLY BATCH" % (
                {BatchType.COUNTER: "COUNTER ", BatchType.LOGGED: "", BatchType.UNLOGGED: "UNLOGGED "}[kind],
                "; ".join(one.query_string for one in statements))
            with self.assertRaisesRegex(InvalidRequest, message):
                s.execute(text)
        unlogged_counters = BatchStatement(batch_type=BatchType.UNLOGGED)
        unlogged_counters.add(bump)
        s.execute(unlogged_counters)
        s.execute("BEGIN UNLOGGED BATCH UPDATE hits SET n = n + 1 WHERE page = 'b'; APPLY BATCH")
        self.assertEqual(self.q("SELECT n FROM hits WHERE page = 'b'")[0].n, 2)
        self.assertEqual(len(self.q("SELECT * FROM kv WHERE k = 300")), 0)
        with self.assertRaisesRegex(InvalidRequest, "Timestamp must be set either on BATCH or individual statements"):
            s.execute("BEGIN BATCH USING TIMESTAMP 5 INSERT INTO kv (k, v) VALUES (1, 'a') USING TIMESTAMP 6; APPLY BATCH")
        # A BATCH statement can be prepared, as in Cassandra: its markers are its statements' in
        # order (named ones too), the batch's USING TIMESTAMP first.
        prepared = s.prepare("BEGIN BATCH USING TIMESTAMP ? INSERT INTO kv (k, v) VALUES (?, ?); "
                             "UPDATE kv SET v = :val WHERE k = :key; DELETE FROM kv WHERE k = ? APPLY BATCH")
        self.assertEqual([c.name for c in prepared.column_metadata],
                         ["[timestamp]", "k", "v", "val", "key", "k"])
        # One table: it routes by the first marker of its key, as in Cassandra (the driver's own
        # guess from the markers' names would be the last one, 5).
        self.assertEqual(prepared.routing_key_indexes, [1])
        s.execute("INSERT INTO kv (k, v) VALUES (402, 'old') USING TIMESTAMP 10")
        s.execute(prepared, (1000, 400, "p", "q", 401, 402))
        self.assertEqual([(r.v, r.w) for r in self.q("SELECT v, writetime(v) AS w FROM kv WHERE k IN (400, 401)")],
                         [("p", 1000), ("q", 1000)])
        self.assertEqual(len(self.q("SELECT * FROM kv WHERE k = 402")), 0)
        # A prepared BATCH may not go inside a protocol batch.
        nested = BatchStatement()
        nested.add(prepared, (1, 1, "x", "y", 2, 3))
        with self.assertRaisesRegex(InvalidRequest, "only UPDATE, INSERT and DELETE statements are allowed"):
            s.execute(nested)

    def test_select_forms(self):
        s = self.session
        s.execute("CREATE TABLE sel (p int, c1 int, c2 text, v int, PRIMARY KEY (p, c1, c2))")
        ins = s.prepare("INSERT INTO sel (p, c1, c2, v) VALUES (?, ?, ?, ?)")
        for p in range(4):
            for c1 in range(3):
                for c2 in ("a", "b"):
                    s.execute(ins, (p, c1, c2, p * 100 + c1 * 10 + (c2 == "b")))
        self.assertEqual(len(self.q("SELECT * FROM sel WHERE p IN (1, 2)")), 12)
        rows = self.q("SELECT c1, c2 FROM sel WHERE p = 1 AND c1 > 0 AND c1 <= 2")
        self.assertEqual([(r.c1, r.c2) for r in rows], [(1, "a"), (1, "b"), (2, "a"), (2, "b")])
        rows = self.q("SELECT c1, c2 FROM sel WHERE p = 1 AND (c1, c2) > (1, 'a')")
        self.assertEqual([(r.c1, r.c2) for r in rows], [(1, "b"), (2, "a"), (2, "b")])
        rows = self.q("SELECT c1 FROM sel WHERE p = 1 AND c1 IN (0, 2) AND c2 = 'b'")
        self.assertEqual([r.c1 for r in rows], [0, 2])
        # Several tuples: clustering order, duplicates once; bound as a list of tuples or one by one.
        rows = self.q("SELECT c1, c2 FROM sel WHERE p = 1 AND (c1, c2) IN ((2, 'a'), (0, 'b'), (2, 'a'))")
        self.assertEqual([(r.c1, r.c2) for r in rows], [(0, "b"), (2, "a")])
        in_list = s.prepare("SELECT c1, c2 FROM sel WHERE p = ? AND (c1, c2) IN ?")
        rows = s.execute(in_list, (1, [(2, "b"), (1, "a")]))
        self.assertEqual([(r.c1, r.c2) for r in rows], [(1, "a"), (2, "b")])
        one_by_one = s.prepare("SELECT c1, c2 FROM sel WHERE p = ? AND (c1, c2) IN ((?, ?), (?, ?))")
        self.assertEqual([c.name for c in one_by_one.column_metadata], ["p", "c1", "c2", "c1", "c2"])
        rows = s.execute(one_by_one, (1, 0, "a", 1, "b"))
        self.assertEqual([(r.c1, r.c2) for r in rows], [(0, "a"), (1, "b")])
        rows = self.q("SELECT c1, c2 FROM sel WHERE p = 1 AND c1 IN (0, 2) AND c2 > 'a'")
        self.assertEqual([(r.c1, r.c2) for r in rows], [(0, "b"), (2, "b")])
        rows = self.q("SELECT p, c1, c2 FROM sel WHERE (c1, c2) = (1, 'b') ALLOW FILTERING")
        self.assertEqual(sorted(r.p for r in rows), [0, 1, 2, 3])
        rows = self.q("SELECT c1, c2 FROM sel WHERE p = 1 ORDER BY c1 DESC, c2 DESC LIMIT 3")
        self.assertEqual([(r.c1, r.c2) for r in rows], [(2, "b"), (2, "a"), (1, "b")])
        # ORDER BY over several partitions sorts in memory: allowed when the LIMIT fits in a page.
        rows = self.q("SELECT p, c1, c2 FROM sel WHERE p IN (1, 2) ORDER BY c1 DESC, c2 DESC LIMIT 5")
        self.assertEqual([(r.c1, r.c2) for r in rows], [(2, "b"), (2, "b"), (2, "a"), (2, "a"), (1, "b")])
        with self.assertRaisesRegex(InvalidRequest, "Cannot page queries with both ORDER BY and a IN"):
            self.q("SELECT p FROM sel WHERE p IN (1, 2) ORDER BY c1 DESC")
        # Time ranges over timeuuids with minTimeuuid / maxTimeuuid (past dates, not "now").
        from cassandra.util import uuid_from_time
        s.execute("CREATE TABLE ticks (k int, t timeuuid, PRIMARY KEY (k, t))")
        for day in (1, 2, 3):
            s.execute("INSERT INTO ticks (k, t) VALUES (0, %s)",
                      (uuid_from_time(datetime.datetime(2013, 1, day, 12, tzinfo=datetime.timezone.utc)),))
        rows = self.q("SELECT toTimestamp(t) AS at FROM ticks WHERE k = 0 AND t > maxTimeuuid('2013-01-01 12:00+0000') "
                      "AND t < minTimeuuid('2013-01-03 12:00+0000')")
        self.assertEqual([r.at.day for r in rows], [2])
        rows = self.q("SELECT t FROM ticks WHERE k = 0 AND t >= minTimeuuid('2013-01-02 12:00+0000') "
                      "AND t <= maxTimeuuid('2013-01-03 12:00+0000')")
        self.assertEqual(len(rows), 2)
        # A tuple slice over clustering columns of mixed order, in clustering order (c1 DESC, c2 ASC).
        s.execute("CREATE TABLE mixed (p int, c1 int, c2 int, PRIMARY KEY (p, c1, c2)) "
                  "WITH CLUSTERING ORDER BY (c1 DESC, c2 ASC)")
        for c1, c2 in ((2, 3), (2, 4), (4, 4), (3, 4), (4, 5), (4, 6)):
            s.execute("INSERT INTO mixed (p, c1, c2) VALUES (0, %s, %s)", (c1, c2))
        mixed = s.prepare("SELECT c1, c2 FROM mixed WHERE p = 0 AND (c1, c2) >= ? AND (c1, c2) < ?")
        rows = s.execute(mixed, ((2, 3), (4, 5)))
        self.assertEqual([(r.c1, r.c2) for r in rows], [(4, 4), (3, 4), (2, 3), (2, 4)])
        # DELETE takes the same slice as the ranges it is made of.
        s.execute(s.prepare("DELETE FROM mixed WHERE p = 0 AND (c1, c2) >= ? AND (c1, c2) < ?"),
                  ((2, 3), (4, 5)))
        rows = self.q("SELECT c1, c2 FROM mixed WHERE p = 0")
        self.assertEqual([(r.c1, r.c2) for r in rows], [(4, 5), (4, 6)])
        # Cassandra's refusals, with its messages.
        with self.assertRaisesRegex(InvalidRequest, 'PRIMARY KEY column "c2" cannot be restricted as '
                                    'preceding column "c1" is not restricted'):
            s.execute("SELECT * FROM sel WHERE p = 1 AND c2 = 'a'")
        with self.assertRaisesRegex(InvalidRequest, 'Clustering column "c2" cannot be restricted '
                                    r'\(preceding column "c1" is restricted by a non-EQ relation\)'):
            s.execute("SELECT * FROM sel WHERE p = 1 AND c1 > 0 AND c2 = 'a'")
        rows = self.q("SELECT c1, c2 FROM sel WHERE p = 1 AND c1 > 0 AND c2 = 'a' ALLOW FILTERING")
        self.assertEqual([(r.c1, r.c2) for r in rows], [(1, "a"), (2, "a")])
        self.assertEqual(len(self.q("SELECT * FROM sel PER PARTITION LIMIT 2")), 8)
        self.assertEqual(sorted(r.p for r in self.q("SELECT DISTINCT p FROM sel")), [0, 1, 2, 3])
        agg = self.q("SELECT count(*) AS n, sum(v) AS s, min(v) AS lo, max(v) AS hi, avg(v) AS av FROM sel WHERE p = 2")[0]
        self.assertEqual((agg.n, agg.s, agg.lo, agg.hi), (6, 1263, 200, 221))
        self.assertEqual(agg.av, 210)
        groups = self.q("SELECT p, count(*) AS n FROM sel GROUP BY p")
        self.assertEqual(sorted((r.p, r.n) for r in groups), [(0, 6), (1, 6), (2, 6), (3, 6)])
        with self.assertRaises(InvalidRequest):
            s.execute("SELECT * FROM sel WHERE v = 5")
        self.assertEqual(len(self.q("SELECT * FROM sel WHERE v = 111 ALLOW FILTERING")), 1)
        tok = self.q("SELECT p, token(p) AS t FROM sel WHERE p = 3")[0]
        self.assertEqual(tok.t, self.cluster.metadata.token_map.token_class.from_key(
            __import__("struct").pack(">i", 3)).value)
        ranged = self.q("SELECT p FROM sel WHERE token(p) > %s" % tok.t)
        self.assertTrue(all(r.p != 3 for r in ranged))
        # token(value) on the right side, as drivers' manual paging writes it, also prepared.
        by_value = s.prepare("SELECT p FROM sel WHERE token(p) > token(?)")
        self.assertEqual([(m.name, m.type.typename) for m in by_value.column_metadata],
                         [("arg0(system.token)", "int")])
        self.assertEqual(sorted(r.p for r in s.execute(by_value, (3,))), sorted(r.p for r in ranged))
        self.assertEqual(len(self.q("SELECT p FROM sel WHERE p IN (1, 2, 3) AND token(p) = token(3)")), 6)
        js = self.q("SELECT JSON p, c2 FROM sel WHERE p = 0 LIMIT 1")[0][0]
        self.assertEqual(js, '{"p": 0, "c2": "a"}')
        with self.assertRaises(SyntaxException):
            s.execute("SELEC * FROM sel")
        row = self.q("SELECT now() AS n, toTimestamp(now()) AS t FROM sel LIMIT 1")[0]
        self.assertEqual(row.n.version, 1)
        # Values in the selection take a type hint, as in Cassandra 4.
        row = self.q("SELECT (int)7 AS seven, (text)'x' AS x FROM sel LIMIT 1")[0]
        self.assertEqual((row.seven, row.x), (7, "x"))
        with self.assertRaisesRegex(InvalidRequest, "Cannot infer type for term 7 in selection clause"):
            self.q("SELECT 7 FROM sel LIMIT 1")

    def test_paging_over_partitions_and_whole_tables(self):
        s = self.session
        s.execute("CREATE TABLE big (p int, c int, v int, PRIMARY KEY (p, c))")
        ins = s.prepare("INSERT INTO big (p, c, v) VALUES (?, ?, ?)")
        for p in range(20):
            for c in range(15):
                s.execute(ins, (p, c, p * c))
        stmt = SimpleStatement("SELECT * FROM big WHERE p = 7", fetch_size=4)
        self.assertEqual([r.c for r in s.execute(stmt)], list(range(15)))
        stmt = SimpleStatement("SELECT p, c FROM big", fetch_size=7)
        rows = [(r.p, r.c) for r in s.execute(stmt)]
        self.assertEqual(len(rows), 300)
        self.assertEqual(len(set(rows)), 300)
        stmt = SimpleStatement("SELECT p, c FROM big WHERE p IN (1, 2, 3)", fetch_size=10)
        self.assertEqual(len(list(s.execute(stmt))), 45)
        stmt = SimpleStatement("SELECT p, c FROM big LIMIT 50", fetch_size=8)
        self.assertEqual(len(list(s.execute(stmt))), 50)

    def test_prepared_statements_route_by_token(self):
        s = self.session
        s.execute("CREATE TABLE routed (a int, b text, c int, v int, PRIMARY KEY ((a, b), c))")
        ps = s.prepare("INSERT INTO routed (c, b, a, v) VALUES (?, ?, ?, ?)")
        self.assertEqual(ps.routing_key_indexes, [2, 1])
        named = s.prepare("SELECT v FROM routed WHERE a = :a AND b = :b AND c = :c")
        self.assertEqual(named.routing_key_indexes, [0, 1])
        s.execute(ps, (3, "x", 1, 42))
        self.assertEqual(list(s.execute(named, {"a": 1, "b": "x", "c": 3}))[0].v, 42)
        bound = named.bind({"a": 1, "b": "x", "c": 3})
        self.assertIsNotNone(bound.routing_key)
        # A marker inside a function call is the function's argument, not the key column: named
        # as Cassandra names it, and not used for routing.
        through = s.prepare("SELECT v FROM routed WHERE a = blobAsInt(?) AND b = 'x' AND c = 3")
        self.assertEqual([m.name for m in through.column_metadata], ["arg0(system.blobasint)"])
        self.assertIsNone(through.routing_key_indexes)
        self.assertEqual(list(s.execute(through, (b"\x00\x00\x00\x01",)))[0].v, 42)

    def test_repeated_prepared_reads_see_every_write(self):
        # With the row cache on, repeated reads are answered from memory on the event loop;
        # each write must still be visible to the next read.
        s = self.session
        s.execute("CREATE TABLE hot (k int, c int, v text, PRIMARY KEY (k, c))")
        write = s.prepare("INSERT INTO hot (k, c, v) VALUES (?, ?, ?)")
        read = s.prepare("SELECT c, v FROM hot WHERE k = ?")
        for i in range(50):
            s.execute(write, (1, i % 3, "v%d" % i))
            for _ in range(3):
                rows = [(r.c, r.v) for r in s.execute(read, (1,))]
                self.assertIn((i % 3, "v%d" % i), rows)
        s.execute("DELETE FROM hot WHERE k = 1 AND c = 0")
        self.assertEqual([r.c for r in s.execute(read, (1,))], [1, 2])
        self.assertEqual(list(s.execute(read, (2,))), [])

    def test_errors_are_typed(self):
        s = self.session
        with self.assertRaises(InvalidRequest):
            s.execute("SELECT * FROM no_such_table")
        with self.assertRaises(InvalidRequest):
            s.execute("INSERT INTO kv_missing (k) VALUES (1)")
        with self.assertRaises(SyntaxException):
            s.execute("INSERT INTO t (a) VALUES (")
        s.execute("CREATE TABLE errs (k int PRIMARY KEY, v int)")
        with self.assertRaises(InvalidRequest) as e:
            s.execute("INSERT INTO errs (k, v) VALUES ('text', 1)")
        self.assertIn("Invalid STRING constant", str(e.exception))
        with self.assertRaises(InvalidRequest):
            s.execute("UPDATE errs USING TIMESTAMP 5 SET v = 1 WHERE k = 1 IF v = 2")
        # Function calls resolve as Cassandra's: a text is not an int, a bigint reads as a timestamp.
        s.execute("CREATE TABLE fcalls (k int PRIMARY KEY, t text, b bigint)")
        s.execute("INSERT INTO fcalls (k, t, b) VALUES (1, 'x', 1436832018805)")
        with self.assertRaisesRegex(InvalidRequest, "t cannot be passed as argument 0 of function system.intasblob"):
            s.execute("SELECT intAsBlob(t) FROM fcalls")
        with self.assertRaisesRegex(InvalidRequest, "none of its type signatures match"):
            s.execute("SELECT sum(t) FROM fcalls")
        row = s.execute("SELECT toUnixTimestamp(b) AS u, toDate(b) AS d FROM fcalls WHERE k = 1").one()
        self.assertEqual(row.u, 1436832018805)
        self.assertEqual(str(row.d), "2015-07-14")
        # A marker as the argument of a function with one signature takes its parameter's type.
        through = s.prepare("SELECT intAsBlob(?) AS b FROM fcalls WHERE k = 1")
        self.assertEqual([m.name for m in through.column_metadata], ["arg0(system.intasblob)"])
        self.assertEqual(s.execute(through, [7]).one().b, b"\x00\x00\x00\x07")

    def test_lightweight_transactions(self):
        s = self.session
        s.execute("CREATE TABLE accounts (id int, kind text, balance int, owner text, PRIMARY KEY (id, kind))")
        first = self.q("INSERT INTO accounts (id, kind, balance, owner) VALUES (1, 'a', 100, 'ann') IF NOT EXISTS")[0]
        self.assertTrue(first.applied)
        again = self.q("INSERT INTO accounts (id, kind, balance, owner) VALUES (1, 'a', 5, 'bob') IF NOT EXISTS")[0]
        self.assertFalse(again.applied)
        self.assertEqual((again.balance, again.owner), (100, "ann"))
        ok = self.q("UPDATE accounts SET balance = 80 WHERE id = 1 AND kind = 'a' IF balance = 100")[0]
        self.assertTrue(ok.applied)
        stale = self.q("UPDATE accounts SET balance = 60 WHERE id = 1 AND kind = 'a' IF balance = 100")[0]
        self.assertFalse(stale.applied)
        self.assertEqual(stale.balance, 80)
        self.assertTrue(self.q("UPDATE accounts SET owner = 'cy' WHERE id = 1 AND kind = 'a' IF balance > 50 AND owner IN ('ann', 'x')")[0].applied)
        self.assertFalse(self.q("UPDATE accounts SET owner = 'z' WHERE id = 2 AND kind = 'a' IF EXISTS")[0].applied)
        self.assertFalse(self.q("DELETE FROM accounts WHERE id = 1 AND kind = 'a' IF owner = 'nobody'")[0].applied)
        self.assertTrue(self.q("DELETE FROM accounts WHERE id = 1 AND kind = 'a' IF EXISTS")[0].applied)
        self.assertEqual(self.q("SELECT * FROM accounts WHERE id = 1"), [])
        s.execute("INSERT INTO accounts (id, kind, balance) VALUES (3, 'a', 7)")
        in_list = s.prepare("UPDATE accounts SET owner = ? WHERE id = ? AND kind = ? IF balance IN ?")
        self.assertFalse(s.execute(in_list, ("x", 3, "a", [1, 2])).was_applied)
        self.assertTrue(s.execute(in_list, ("y", 3, "a", [1, None, 7])).was_applied)
        self.assertEqual(self.q("SELECT owner FROM accounts WHERE id = 3")[0].owner, "y")
        # A condition on a row that does not exist shows [applied] alone.
        missing = self.q("UPDATE accounts SET owner = 'z' WHERE id = 9 AND kind = 'a' IF balance = 1")
        self.assertEqual([tuple(r) for r in missing], [(False,)])

    def test_conditional_batches(self):
        s = self.session
        s.execute("CREATE TABLE orders (id int, item int, qty int, status text, PRIMARY KEY (id, item))")
        insert = s.prepare("INSERT INTO orders (id, item, qty, status) VALUES (?, ?, ?, 'pending') IF NOT EXISTS")
        confirm = s.prepare("UPDATE orders SET status = 'confirmed' WHERE id = ? AND item = ? IF status = ?")
        plain = s.prepare("UPDATE orders SET qty = ? WHERE id = ? AND item = ?")
        batch = BatchStatement()
        batch.add(insert, (1, 1, 5))
        batch.add(insert, (1, 2, 3))
        self.assertTrue(s.execute(batch).was_applied)
        # Every condition holds: all of the batch applies, the plain statement too.
        batch = BatchStatement()
        batch.add(confirm, (1, 1, "pending"))
        batch.add(plain, (7, 1, 2))
        self.assertTrue(s.execute(batch).was_applied)
        rows = self.q("SELECT item, qty, status FROM orders WHERE id = 1")
        self.assertEqual([tuple(r) for r in rows], [(1, 5, "confirmed"), (2, 7, "pending")])
        # One fails: nothing applies, and each row read shows its key and the condition columns.
        batch = BatchStatement()
        batch.add(confirm, (1, 2, "pending"))
        batch.add(confirm, (1, 1, "pending"))
        batch.add(plain, (100, 1, 2))
        result = s.execute(batch)
        self.assertFalse(result.was_applied)
        self.assertEqual([tuple(r) for r in result], [(False, 1, 1, "confirmed"), (False, 1, 2, "pending")])
        self.assertEqual(self.q("SELECT qty FROM orders WHERE id = 1 AND item = 2")[0].qty, 7)
        # With IF NOT EXISTS, a failure shows every column of the rows that exist.
        batch = BatchStatement()
        batch.add(insert, (1, 1, 9))
        batch.add(insert, (1, 3, 9))
        result = s.execute(batch)
        self.assertFalse(result.was_applied)
        self.assertEqual([tuple(r) for r in result], [(False, 1, 1, 5, "confirmed")])
        self.assertEqual(len(self.q("SELECT * FROM orders WHERE id = 1")), 2)
        text = self.q("BEGIN BATCH INSERT INTO orders (id, item, qty) VALUES (2, 1, 1) IF NOT EXISTS; "
                      "UPDATE orders SET qty = 2 WHERE id = 2 AND item = 2; APPLY BATCH")
        self.assertTrue(text[0].applied)
        self.assertEqual(len(self.q("SELECT * FROM orders WHERE id = 2")), 2)
        batch = BatchStatement()
        batch.add(insert, (3, 1, 1))
        batch.add(insert, (4, 1, 1))
        with self.assertRaisesRegex(InvalidRequest, "cannot span multiple partitions"):
            s.execute(batch)
        self.assertEqual(self.q("SELECT * FROM orders WHERE id IN (3, 4)"), [])

    def test_insert_json_and_list_element_operations(self):
        s = self.session
        s.execute("CREATE TABLE docs (id int PRIMARY KEY, title text, tags list<text>, attrs map<text, int>, at timestamp)")
        s.execute("""INSERT INTO docs JSON '{"id": 1, "title": "hello", "tags": ["a", "b", "c"], "attrs": {"x": 1}, "at": "2024-01-01 00:00:00+0000"}'""")
        row = self.q("SELECT * FROM docs WHERE id = 1")[0]
        self.assertEqual((row.title, row.tags, row.attrs), ("hello", ["a", "b", "c"], {"x": 1}))
        s.execute("UPDATE docs SET tags[1] = 'B' WHERE id = 1")
        s.execute("UPDATE docs SET tags = tags - ['c'] WHERE id = 1")
        self.assertEqual(self.q("SELECT tags FROM docs WHERE id = 1")[0].tags, ["a", "B"])
        s.execute("DELETE tags[0] FROM docs WHERE id = 1")
        self.assertEqual(self.q("SELECT tags FROM docs WHERE id = 1")[0].tags, ["B"])
        with self.assertRaises(InvalidRequest):
            s.execute("UPDATE docs SET tags[7] = 'no' WHERE id = 1")
        s.execute("""INSERT INTO docs JSON '{"id": 1, "title": "only title"}' DEFAULT UNSET""")
        row = self.q("SELECT title, tags FROM docs WHERE id = 1")[0]
        self.assertEqual((row.title, row.tags), ("only title", ["B"]))
        s.execute("""INSERT INTO docs JSON '{"id": 1, "title": "nulls"}'""")
        self.assertIsNone(self.q("SELECT tags FROM docs WHERE id = 1")[0].tags)
        with self.assertRaises(InvalidRequest):
            s.execute("""INSERT INTO docs JSON '{"id": 1, "nope": 2}'""")
        insert_json = s.prepare("INSERT INTO docs JSON ?")
        for document in (None, "null"):
            with self.assertRaisesRegex(InvalidRequest, "Got null for INSERT JSON values"):
                s.execute(insert_json, (document,))
        # Element and slice selection on maps and sets (Cassandra 4), keys also bound.
        s.execute("UPDATE docs SET attrs = {'a': 1, 'b': 2, 'c': 3} WHERE id = 5")
        row = self.q("SELECT attrs['b'] AS b, attrs['q'] AS q, attrs['a'..'b'] AS ab, attrs['b'..] AS tail "
                     "FROM docs WHERE id = 5")[0]
        self.assertEqual((row.b, row.q, dict(row.ab), dict(row.tail)), (2, None, {"a": 1, "b": 2}, {"b": 2, "c": 3}))
        by_key = s.prepare("SELECT attrs[?] FROM docs WHERE id = 5")
        self.assertEqual([(m.name, m.type.typename) for m in by_key.column_metadata], [("key(attrs)", "varchar")])
        self.assertEqual(list(s.execute(by_key, ("c",)))[0][0], 3)
        with self.assertRaisesRegex(InvalidRequest, "Element selection is only allowed on sets and maps, but tags is a list"):
            self.q("SELECT tags[0] FROM docs WHERE id = 5")
        # fromJson() in values (also bound), toJson() in the selection.
        s.execute(s.prepare("""UPDATE docs SET tags = fromJson('["x", "y"]'), attrs = fromJson(?) WHERE id = 2"""),
                  ('{"k": 7}',))
        row = self.q("SELECT toJson(tags) AS t, toJson(attrs) AS a, toJson(title) AS n FROM docs WHERE id = 2")[0]
        self.assertEqual((row.t, row.a, row.n), ('["x", "y"]', '{"k": 7}', "null"))
        prepared = s.prepare("INSERT INTO docs (id, tags) VALUES (?, fromJson(?))")
        self.assertEqual(prepared.column_metadata[1].type.typename, "varchar")
        s.execute(prepared, (3, '["z"]'))
        self.assertEqual(self.q("SELECT tags FROM docs WHERE id = 3")[0].tags, ["z"])
        # A value fromJson() cannot read is Cassandra's FunctionFailure, naming the function;
        # fromJson(null) is null.
        with self.assertRaisesRegex(FunctionFailure, "Expected a list, but got a Integer: 7") as caught:
            s.execute(prepared, (3, "7"))
        self.assertEqual((caught.exception.keyspace, caught.exception.function, caught.exception.arg_types),
                         ("system", "fromjson", ["text"]))
        s.execute(prepared, (3, None))
        self.assertIsNone(self.q("SELECT tags FROM docs WHERE id = 3")[0].tags)
        row = self.q("SELECT currentTime() AS t, currentTimeUUID() AS u FROM docs WHERE id = 3")[0]
        self.assertEqual(row.u.version, 1)
        self.assertLess(row.t.nanosecond_time, 86400 * 10**9)


    def test_user_defined_types(self):
        s = self.session
        s.execute("CREATE TYPE address (street text, zip int, tags frozen<set<text>>)")
        s.execute("CREATE TYPE person (name text, addr frozen<address>)")
        s.execute("CREATE TABLE people (id int PRIMARY KEY, p frozen<person>, homes list<frozen<address>>)")
        # Schema metadata from system_schema.types, refreshed on the TYPE schema-change event.
        ks = self.cluster.metadata.keyspaces["pytest"]
        self.assertEqual(ks.user_types["address"].field_names, ["street", "zip", "tags"])
        self.assertEqual(ks.user_types["person"].as_cql_query(),
                         "CREATE TYPE pytest.person (name text, addr frozen<address>)")
        self.assertIn("p frozen<person>", ks.tables["people"].as_cql_query())
        # Literals, and values the driver decodes into named tuples.
        s.execute("INSERT INTO people (id, p, homes) VALUES (1, {name: 'ann', addr: {street: 'Main', zip: 42, "
                  "tags: {'x'}}}, [{street: 'Elm'}])")
        row = self.q("SELECT p, homes FROM people WHERE id = 1")[0]
        self.assertEqual((row.p.name, row.p.addr.street, row.p.addr.zip, row.p.addr.tags), ("ann", "Main", 42, {"x"}))
        self.assertEqual((row.homes[0].street, row.homes[0].zip), ("Elm", None))
        # Bound values: a tuple in field order, or a class registered for the type.
        insert = s.prepare("INSERT INTO people (id, p) VALUES (?, ?)")
        udt = insert.column_metadata[1].type
        self.assertEqual((udt.keyspace, udt.typename, tuple(udt.fieldnames)), ("pytest", "person", ("name", "addr")))
        s.execute(insert, (2, ("bob", ("Oak", 7, None))))

        class Address(object):
            def __init__(self, street=None, zip=None, tags=None):
                self.street, self.zip, self.tags = street, zip, tags

        self.cluster.register_user_type("pytest", "address", Address)
        s.execute(s.prepare("UPDATE people SET homes = ? WHERE id = 3"), ([Address("Pine", 9, {"a", "b"})],))
        home = self.q("SELECT homes FROM people WHERE id = 3")[0].homes[0]
        self.assertIsInstance(home, Address)
        self.assertEqual((home.street, home.zip, home.tags), ("Pine", 9, {"a", "b"}))
        # Field selection, JSON in and out.
        rows = self.q("SELECT id, p.name, p.addr.zip FROM people WHERE id IN (1, 2)")
        self.assertEqual([tuple(r) for r in rows], [(1, "ann", 42), (2, "bob", 7)])
        s.execute("""INSERT INTO people JSON '{"id": 4, "p": {"name": "cy", "addr": {"zip": 5}}}'""")
        self.assertEqual(self.q("SELECT toJson(p) AS j FROM people WHERE id = 4")[0].j,
                         '{"name": "cy", "addr": {"street": null, "zip": 5, "tags": null}}')
        # A frozen UDT clusters field by field.
        s.execute("CREATE TABLE visits (k int, at frozen<address>, n int, PRIMARY KEY (k, at))")
        for street, zip_code, n in (("b", 1, 1), ("a", 2, 2), ("a", 1, 3)):
            s.execute("INSERT INTO visits (k, at, n) VALUES (0, {street: %s, zip: %s}, %s)", (street, zip_code, n))
        self.assertEqual([r.n for r in self.q("SELECT n FROM visits WHERE k = 0")], [3, 2, 1])
        # ALTER TYPE: a value written before a field was added reads it as null.
        s.execute("CREATE TYPE phone (number text)")
        s.execute("CREATE TABLE contacts (id int PRIMARY KEY, ph frozen<phone>)")
        s.execute("INSERT INTO contacts (id, ph) VALUES (1, {number: '555'})")
        s.execute("ALTER TYPE phone ADD kind text")
        s.execute("ALTER TYPE phone RENAME number TO digits")
        self.assertEqual(self.cluster.metadata.keyspaces["pytest"].user_types["phone"].field_names,
                         ["digits", "kind"])
        s.execute("INSERT INTO contacts (id, ph) VALUES (2, {digits: '777', kind: 'home'})")
        rows = self.q("SELECT id, ph.digits, ph.kind FROM contacts WHERE id IN (1, 2)")
        self.assertEqual([tuple(r) for r in rows], [(1, "555", None), (2, "777", "home")])
        with self.assertRaisesRegex(InvalidRequest, "Altering field types is no longer supported"):
            s.execute("ALTER TYPE phone ALTER kind TYPE int")
        # Cassandra's refusals.
        with self.assertRaisesRegex(InvalidRequest, "A user type with name 'address' already exists"):
            s.execute("CREATE TYPE address (a int)")
        with self.assertRaisesRegex(InvalidRequest, "Cannot drop user type 'pytest.address' as it is still used"):
            s.execute("DROP TYPE address")
        with self.assertRaisesRegex(InvalidRequest, "Unknown field 'nope' in value of user defined type person"):
            s.execute("INSERT INTO people (id, p) VALUES (9, {nope: 1})")
        with self.assertRaisesRegex(InvalidRequest, "Invalid operation \\(p.name = 'x'\\) for frozen UDT column p"):
            s.execute("UPDATE people SET p.name = 'x' WHERE id = 1")
        # A non-frozen user type: fields set, deleted and compared one by one.
        s.execute("CREATE TABLE nonfrozen (k int PRIMARY KEY, ph phone)")
        s.execute(s.prepare("INSERT INTO nonfrozen (k, ph) VALUES (?, ?)"), (1, ("123", None)))
        s.execute("UPDATE nonfrozen SET ph.kind = 'work' WHERE k = 1")
        s.execute(s.prepare("UPDATE nonfrozen SET ph.digits = ? WHERE k = 1 IF ph.kind = ?"), ("456", "work"))
        ph = self.q("SELECT ph FROM nonfrozen WHERE k = 1")[0].ph
        self.assertEqual((ph.digits, ph.kind), ("456", "work"))
        s.execute("DELETE ph.digits FROM nonfrozen WHERE k = 1")
        self.assertEqual(tuple(self.q("SELECT ph FROM nonfrozen WHERE k = 1")[0].ph), (None, "work"))
        self.assertIn("ph phone", self.cluster.metadata.keyspaces["pytest"].tables["nonfrozen"].as_cql_query())
        with self.assertRaisesRegex(InvalidRequest, "Invalid non-frozen user-defined type phone for PRIMARY KEY"):
            s.execute("CREATE TABLE badkey (k phone PRIMARY KEY)")
        s.execute("DROP TABLE visits")
        s.execute("CREATE TYPE unused (a int)")
        s.execute("DROP TYPE unused")
        self.assertNotIn("unused", self.cluster.metadata.keyspaces["pytest"].user_types)


    def test_secondary_indexes(self):
        s = self.session
        s.execute("CREATE TABLE members (team int, id int, email text, city text, PRIMARY KEY (team, id))")
        insert = s.prepare("INSERT INTO members (team, id, email, city) VALUES (?, ?, ?, ?)")
        for i in range(40):
            s.execute(insert, (i % 4, i, "m%d@x" % i, "paris" if i % 5 == 0 else "rome"))
        s.execute("CREATE INDEX ON members (city)")
        s.execute("CREATE INDEX by_email ON members (email)")
        table = self.cluster.metadata.keyspaces["pytest"].tables["members"]
        self.assertEqual(sorted(table.indexes), ["by_email", "members_city_idx"])
        self.assertEqual(table.indexes["by_email"].index_options, {"target": "email"})
        self.assertIn("CREATE INDEX members_city_idx ON pytest.members (city);", table.export_as_string())
        # Paged, bound, and never answered from an entry a later write made stale.
        s.execute("UPDATE members SET city = 'rome' WHERE team = 0 AND id = 0")
        by_city = s.prepare("SELECT id FROM members WHERE city = ?")
        by_city.fetch_size = 3
        self.assertEqual(sorted(r.id for r in s.execute(by_city, ("paris",))), [5, 10, 15, 20, 25, 30, 35])
        self.assertEqual([r.team for r in self.q("SELECT team FROM members WHERE email = 'm7@x'")], [3])
        with self.assertRaisesRegex(InvalidRequest, "use ALLOW FILTERING"):
            self.q("SELECT id FROM members WHERE city = 'rome' AND email = 'm1@x'")
        with self.assertRaisesRegex(InvalidRequest, "Cannot drop column city because it has dependent secondary indexes"):
            s.execute("ALTER TABLE members DROP city")
        # An index on a set's elements serves CONTAINS.
        s.execute("CREATE TABLE tagged (id int PRIMARY KEY, tags set<text>)")
        s.execute("CREATE INDEX ON tagged (tags)")
        s.execute("INSERT INTO tagged (id, tags) VALUES (1, {'red', 'blue'})")
        s.execute("INSERT INTO tagged (id, tags) VALUES (2, {'blue'})")
        self.assertEqual(sorted(r.id for r in self.q("SELECT id FROM tagged WHERE tags CONTAINS 'blue'")), [1, 2])
        self.assertIn("CREATE INDEX tagged_tags_idx ON pytest.tagged (values(tags));",
                      self.cluster.metadata.keyspaces["pytest"].tables["tagged"].export_as_string())
        # An index on a map's entries serves m[key] = value, with both bound.
        s.execute("CREATE TABLE attrs (id int PRIMARY KEY, a map<text, int>)")
        s.execute("CREATE INDEX ON attrs (entries(a))")
        s.execute("INSERT INTO attrs (id, a) VALUES (1, {'size': 3, 'rank': 1})")
        s.execute("INSERT INTO attrs (id, a) VALUES (2, {'size': 3})")
        s.execute("INSERT INTO attrs (id, a) VALUES (3, {'size': 4})")
        by_entry = s.prepare("SELECT id FROM attrs WHERE a[?] = ?")
        self.assertEqual(sorted(r.id for r in s.execute(by_entry, ("size", 3))), [1, 2])
        s.execute("UPDATE attrs SET a['size'] = 4 WHERE id = 2")
        self.assertEqual(sorted(r.id for r in s.execute(by_entry, ("size", 4))), [2, 3])
        self.assertEqual([r.id for r in s.execute(by_entry, ("size", 3))], [1])
        self.assertIn("CREATE INDEX attrs_a_idx ON pytest.attrs (entries(a));",
                      self.cluster.metadata.keyspaces["pytest"].tables["attrs"].export_as_string())
        s.execute("DROP INDEX members_city_idx")
        with self.assertRaisesRegex(InvalidRequest, "use ALLOW FILTERING"):
            self.q("SELECT id FROM members WHERE city = 'paris'")


if __name__ == "__main__":
    unittest.main(verbosity=2)
