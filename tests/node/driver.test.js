// Driver tests: the unmodified DataStax Node.js driver against a real ringdb node.
// The node's address and port come from RINGDB_HOST / RINGDB_PORT.
const test = require('node:test');
const assert = require('node:assert');
const cassandra = require('cassandra-driver');

const host = process.env.RINGDB_HOST || '127.0.0.1';
const port = Number(process.env.RINGDB_PORT || 9042);

test('the Node.js driver works against ringdb', async (t) => {
  const client = new cassandra.Client({
    contactPoints: [host],
    localDataCenter: 'datacenter1',
    protocolOptions: { port },
  });
  await client.connect();
  t.after(() => client.shutdown());

  await t.test('negotiates protocol v4 and reads system.local', async () => {
    assert.strictEqual(client.controlConnection.protocolVersion, 4);
    const local = await client.execute('SELECT cluster_name, data_center, partitioner FROM system.local');
    assert.strictEqual(local.rows[0].data_center, 'datacenter1');
    const version = await client.execute('SELECT schema_version FROM system.local');
    assert.ok(version.rows[0].schema_version);
  });

  await t.test('DDL, metadata and prepared writes and reads', async () => {
    await client.execute('DROP KEYSPACE IF EXISTS nodetest');
    await client.execute("CREATE KEYSPACE nodetest WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
    await client.execute('CREATE TABLE nodetest.users (id uuid, ts timestamp, name text, tags set<text>, '
      + 'scores map<text, int>, PRIMARY KEY (id, ts)) WITH CLUSTERING ORDER BY (ts DESC)');
    const table = await client.metadata.getTable('nodetest', 'users');
    assert.deepStrictEqual(table.partitionKeys.map((c) => c.name), ['id']);
    assert.deepStrictEqual(table.clusteringKeys.map((c) => c.name), ['ts']);
    const id = cassandra.types.Uuid.random();
    const insert = 'INSERT INTO nodetest.users (id, ts, name, tags, scores) VALUES (?, ?, ?, ?, ?)';
    for (let i = 0; i < 5; i++) {
      await client.execute(insert, [id, new Date(1700000000000 + i * 1000), `n${i}`, ['a', 'b'], { x: i }], { prepare: true });
    }
    const rows = (await client.execute('SELECT * FROM nodetest.users WHERE id = ?', [id], { prepare: true })).rows;
    assert.deepStrictEqual(rows.map((r) => r.name), ['n4', 'n3', 'n2', 'n1', 'n0']);
    assert.deepStrictEqual(rows[0].tags, ['a', 'b']);
    assert.deepStrictEqual(rows[0].scores, { x: 4 });
  });

  await t.test('paging with fetchSize and page state', async () => {
    await client.execute('CREATE TABLE nodetest.pages (p int, c int, PRIMARY KEY (p, c))');
    const queries = [];
    for (let c = 0; c < 25; c++) queries.push({ query: 'INSERT INTO nodetest.pages (p, c) VALUES (?, ?)', params: [1, c] });
    await client.batch(queries, { prepare: true });
    let seen = [];
    let pageState;
    do {
      const page = await client.execute('SELECT c FROM nodetest.pages WHERE p = ?', [1], { prepare: true, fetchSize: 10, pageState });
      seen = seen.concat(page.rows.map((r) => r.c));
      pageState = page.pageState;
    } while (pageState);
    assert.deepStrictEqual(seen, Array.from({ length: 25 }, (_, i) => i));
  });

  await t.test('errors come back typed', async () => {
    await assert.rejects(client.execute('SELECT * FROM nodetest.missing'), (e) => e.code === 0x2200);
    await assert.rejects(client.execute('SELEC 1'), (e) => e.code === 0x2000);
    await assert.rejects(client.execute("CREATE KEYSPACE nodetest WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}"),
      (e) => e.code === 0x2400);
  });
});
