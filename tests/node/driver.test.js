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

  await t.test('types, collections, tuples and JSON', async () => {
    await client.execute('CREATE TABLE nodetest.types (k int PRIMARY KEY, b bigint, d decimal, f double, ts timestamp, '
      + 'u uuid, tu timeuuid, i inet, bl blob, bo boolean, l list<int>, m map<text, int>, tp tuple<int, text>, vi varint)');
    const u = cassandra.types.Uuid.random();
    const tu = cassandra.types.TimeUuid.now();
    const params = [1, cassandra.types.Long.fromString('-9000000000'), cassandra.types.BigDecimal.fromString('12.50'), 1.25,
      new Date(1700000000123), u, tu, cassandra.types.InetAddress.fromString('10.1.2.3'), Buffer.from([1, 2, 255]), true,
      [3, 1, 2], { a: 1, b: 2 }, new cassandra.types.Tuple(7, 'seven'), cassandra.types.Integer.fromString('123456789012345678901234567890')];
    await client.execute('INSERT INTO nodetest.types (k, b, d, f, ts, u, tu, i, bl, bo, l, m, tp, vi) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      params, { prepare: true });
    const row = (await client.execute('SELECT * FROM nodetest.types WHERE k = 1')).rows[0];
    assert.strictEqual(row.b.toString(), '-9000000000');
    assert.strictEqual(row.d.toString(), '12.50');
    assert.strictEqual(row.f, 1.25);
    assert.strictEqual(row.ts.getTime(), 1700000000123);
    assert.strictEqual(row.u.toString(), u.toString());
    assert.strictEqual(row.tu.toString(), tu.toString());
    assert.strictEqual(row.i.toString(), '10.1.2.3');
    assert.deepStrictEqual([...row.bl], [1, 2, 255]);
    assert.strictEqual(row.bo, true);
    assert.deepStrictEqual(row.l, [3, 1, 2]);
    assert.deepStrictEqual(row.m, { a: 1, b: 2 });
    assert.strictEqual(row.tp.get(1), 'seven');
    assert.strictEqual(row.vi.toString(), '123456789012345678901234567890');
    const json = (await client.execute('SELECT JSON k, l FROM nodetest.types WHERE k = 1')).rows[0]['[json]'];
    assert.deepStrictEqual(JSON.parse(json), { k: 1, l: [3, 1, 2] });
    await client.execute(`INSERT INTO nodetest.types JSON '{"k": 2, "f": 2.5, "m": {"z": 26}}'`);
    const two = (await client.execute('SELECT f, m FROM nodetest.types WHERE k = 2')).rows[0];
    assert.strictEqual(two.f, 2.5);
    assert.deepStrictEqual(two.m, { z: 26 });
  });

  await t.test('counters, batches and lightweight transactions', async () => {
    await client.execute('CREATE TABLE nodetest.views (page text PRIMARY KEY, n counter)');
    await client.batch([
      { query: 'UPDATE nodetest.views SET n = n + 2 WHERE page = ?', params: ['home'] },
      { query: 'UPDATE nodetest.views SET n = n + 3 WHERE page = ?', params: ['home'] },
    ], { prepare: true, counter: true });
    const views = await client.execute("SELECT n FROM nodetest.views WHERE page = 'home'");
    assert.strictEqual(views.rows[0].n.toString(), '5');
    await client.execute('CREATE TABLE nodetest.locks (name text PRIMARY KEY, owner text)');
    const first = await client.execute("INSERT INTO nodetest.locks (name, owner) VALUES ('job', 'a') IF NOT EXISTS");
    assert.strictEqual(first.wasApplied(), true);
    const second = await client.execute("INSERT INTO nodetest.locks (name, owner) VALUES ('job', 'b') IF NOT EXISTS");
    assert.strictEqual(second.wasApplied(), false);
    assert.strictEqual(second.rows[0].owner, 'a');
    const cas = await client.execute("UPDATE nodetest.locks SET owner = 'b' WHERE name = 'job' IF owner = 'a'");
    assert.strictEqual(cas.wasApplied(), true);
    // A conditional batch: all of it or nothing, with the rows that failed.
    await client.execute('CREATE TABLE nodetest.slots (day int, slot int, who text, PRIMARY KEY (day, slot))');
    const claim = 'INSERT INTO nodetest.slots (day, slot, who) VALUES (?, ?, ?) IF NOT EXISTS';
    const won = await client.batch([
      { query: claim, params: [1, 9, 'ann'] },
      { query: claim, params: [1, 10, 'ann'] },
    ], { prepare: true });
    assert.strictEqual(won.wasApplied(), true);
    const lost = await client.batch([
      { query: claim, params: [1, 10, 'bob'] },
      { query: claim, params: [1, 11, 'bob'] },
    ], { prepare: true });
    assert.strictEqual(lost.wasApplied(), false);
    assert.deepStrictEqual(lost.rows.map((r) => [r.slot, r.who]), [[10, 'ann']]);
    const slots = await client.execute('SELECT slot FROM nodetest.slots WHERE day = 1');
    assert.deepStrictEqual(slots.rows.map((r) => r.slot), [9, 10]);
    // A BATCH statement prepared as one statement, as Cassandra allows.
    await client.execute(
      'BEGIN BATCH INSERT INTO nodetest.slots (day, slot, who) VALUES (?, ?, ?); '
      + 'UPDATE nodetest.slots SET who = ? WHERE day = ? AND slot = ? APPLY BATCH',
      [2, 1, 'cy', 'dee', 2, 2], { prepare: true });
    const day2 = await client.execute('SELECT slot, who FROM nodetest.slots WHERE day = 2');
    assert.deepStrictEqual(day2.rows.map((r) => [r.slot, r.who]), [[1, 'cy'], [2, 'dee']]);
  });

  await t.test('user-defined types', async () => {
    await client.execute('CREATE TYPE nodetest.address (street text, zip int)');
    await client.execute('CREATE TYPE nodetest.person (name text, addr frozen<address>)');
    await client.execute('CREATE TABLE nodetest.people (id int PRIMARY KEY, p frozen<person>, homes list<frozen<address>>)');
    const udt = await client.metadata.getUdt('nodetest', 'address');
    assert.deepStrictEqual(udt.fields.map((f) => f.name), ['street', 'zip']);
    // Objects by field name in and out; fields left out are null.
    await client.execute('INSERT INTO nodetest.people (id, p, homes) VALUES (?, ?, ?)',
      [1, { name: 'ann', addr: { street: 'Main', zip: 42 } }, [{ street: 'Elm' }]], { prepare: true });
    await client.execute("INSERT INTO nodetest.people (id, p) VALUES (2, {name: 'bob', addr: {zip: 7}})");
    const rows = (await client.execute('SELECT id, p, homes FROM nodetest.people WHERE id IN (1, 2)')).rows;
    assert.deepStrictEqual(rows.map((r) => [r.id, r.p.name, r.p.addr.street, r.p.addr.zip]),
      [[1, 'ann', 'Main', 42], [2, 'bob', null, 7]]);
    assert.deepStrictEqual(rows[0].homes, [{ street: 'Elm', zip: null }]);
    const fields = await client.execute('SELECT p.addr.zip AS zip FROM nodetest.people WHERE id = ?', [2], { prepare: true });
    assert.strictEqual(fields.rows[0].zip, 7);
    await assert.rejects(client.execute('INSERT INTO nodetest.people (id, p) VALUES (3, {nope: 1})'),
      (e) => e.code === 0x2200 && /Unknown field 'nope' in value of user defined type person/.test(e.message));
    // A non-frozen user type: one field set through a bound value.
    await client.execute('CREATE TABLE nodetest.homes (id int PRIMARY KEY, addr address)');
    await client.execute('UPDATE nodetest.homes SET addr.zip = ? WHERE id = ?', [9, 1], { prepare: true });
    const home = await client.execute('SELECT addr FROM nodetest.homes WHERE id = 1');
    assert.deepStrictEqual(home.rows[0].addr, { street: null, zip: 9 });
    await assert.rejects(client.execute('DROP TYPE nodetest.address'),
      (e) => e.code === 0x2200 && /still used by user types person/.test(e.message));
  });

  await t.test('secondary indexes', async () => {
    await client.execute('CREATE TABLE nodetest.members (team int, id int, city text, PRIMARY KEY (team, id))');
    for (let i = 0; i < 12; i++) {
      await client.execute('INSERT INTO nodetest.members (team, id, city) VALUES (?, ?, ?)',
        [i % 3, i, i % 4 === 0 ? 'paris' : 'rome'], { prepare: true });
    }
    await client.execute('CREATE INDEX ON nodetest.members (city)');
    const table = await client.metadata.getTable('nodetest', 'members');
    assert.deepStrictEqual(table.indexes.map((i) => [i.name, i.target]), [['members_city_idx', 'city']]);
    let ids = [];
    let pageState;
    do {  // pages of two rows
      const page = await client.execute('SELECT id FROM nodetest.members WHERE city = ?', ['paris'],
        { prepare: true, fetchSize: 2, pageState });
      ids = ids.concat(page.rows.map((r) => r.id));
      pageState = page.pageState;
    } while (pageState);
    assert.deepStrictEqual(ids.sort((a, b) => a - b), [0, 4, 8]);
  });

  await t.test('token-aware routing metadata', async () => {
    const replicas = client.getReplicas('nodetest', Buffer.from([0, 0, 0, 1]));
    assert.strictEqual(replicas.length, 1);
    const local = await client.execute("SELECT tokens FROM system.local WHERE key = 'local'");
    assert.ok(local.rows[0].tokens.length >= 1);
  });

  await t.test('errors come back typed', async () => {
    await assert.rejects(client.execute('SELECT * FROM nodetest.missing'), (e) => e.code === 0x2200);
    await assert.rejects(client.execute('SELEC 1'), (e) => e.code === 0x2000);
    await assert.rejects(client.execute("CREATE KEYSPACE nodetest WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}"),
      (e) => e.code === 0x2400);
  });
});
