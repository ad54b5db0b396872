"""Durability through the driver: writes acknowledged to the Python driver before a SIGKILL of the
server are all present after a restart, with default settings (commitlog_sync: group).
Needs RINGDB_BINARY (the ringdb executable)."""
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from cassandra.cluster import Cluster

BINARY = os.environ["RINGDB_BINARY"]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start(data_dir, port):
    proc = subprocess.Popen([BINARY, "server", "--data-dir", data_dir, "--cql-port", str(port), "--log-level", "warn"])
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server did not start")


class DurabilityTest(unittest.TestCase):
    def test_acknowledged_writes_survive_sigkill(self):
        with tempfile.TemporaryDirectory() as data:
            port = free_port()
            server = start(data, port)
            cluster = Cluster(["127.0.0.1"], port=port)
            session = cluster.connect()
            session.execute("CREATE KEYSPACE d WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
            session.execute("CREATE TABLE d.acks (id int PRIMARY KEY, payload text)")
            # The schema (a user type too) and a value of it are as durable as the rows.
            session.execute("CREATE TYPE d.point (x int, y int)")
            session.execute("CREATE TABLE d.shapes (id int PRIMARY KEY, at frozen<point>)")
            session.execute("INSERT INTO d.shapes (id, at) VALUES (1, {x: 3, y: 4})")
            session.execute("ALTER TYPE d.point ADD z int")
            session.execute("ALTER TABLE d.shapes ADD label frozen<point>")
            session.execute("INSERT INTO d.shapes (id, label) VALUES (2, {z: 5})")
            insert = session.prepare("INSERT INTO d.acks (id, payload) VALUES (?, ?)")
            acknowledged = []
            lock = threading.Lock()
            stop = threading.Event()

            def writer(first):
                i = first
                while not stop.is_set():
                    try:
                        session.execute(insert, (i, "payload-%d" % i))
                    except Exception:
                        return  # the server is gone
                    with lock:
                        acknowledged.append(i)
                    i += 16

            threads = [threading.Thread(target=writer, args=(n,)) for n in range(16)]
            for t in threads:
                t.start()
            time.sleep(1.5)
            server.send_signal(signal.SIGKILL)
            server.wait()
            stop.set()
            for t in threads:
                t.join()
            cluster.shutdown()
            with lock:
                acked = list(acknowledged)
            self.assertGreater(len(acked), 100)

            server = start(data, port)
            try:
                cluster = Cluster(["127.0.0.1"], port=port)
                session = cluster.connect()
                select = session.prepare("SELECT payload FROM d.acks WHERE id = ?")
                missing = [i for i in acked if not list(session.execute(select, (i,)))]
                print("%d writes acknowledged before SIGKILL, %d missing after restart" % (len(acked), len(missing)))
                self.assertEqual(missing, [])
                at = list(session.execute("SELECT at FROM d.shapes WHERE id = 1"))[0].at
                self.assertEqual((at.x, at.y, at.z), (3, 4, None))
                label = list(session.execute("SELECT label FROM d.shapes WHERE id = 2"))[0].label
                self.assertEqual((label.x, label.z), (None, 5))
                self.assertEqual(cluster.metadata.keyspaces["d"].user_types["point"].field_names, ["x", "y", "z"])
                cluster.shutdown()
            finally:
                server.terminate()
                server.wait()


if __name__ == "__main__":
    unittest.main(verbosity=2)
