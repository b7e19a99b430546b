/** SCTP data channels: DCEP both ways, negotiated ids, payload kinds, order, close, bad input, 5 MB with back-pressure. */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import type { DataChannel, SctpAssociation } from '../../src/rtc/sctp/index.js';
import { directSctpPair, dtlsSctpPair } from '../helpers/sctp-pair.js';

const STEP_MS = 10_000;

function waitFor<T>(register: (done: (v: T) => void) => void, what: string, ms = STEP_MS): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timeout: ${what}`)), ms);
    register((v) => {
      clearTimeout(timer);
      resolve(v);
    });
  });
}

const nextChannel = (a: SctpAssociation) => waitFor<DataChannel>((d) => a.once('channel', d), 'channel');
const opened = (c: DataChannel) => (c.readyState === 'open' ? Promise.resolve() : waitFor<void>((d) => c.once('open', () => d()), 'open'));
function collect(c: DataChannel, n: number): Promise<(string | Buffer)[]> {
  const got: (string | Buffer)[] = [];
  return waitFor((done) => {
    c.on('message', (m) => {
      got.push(m);
      if (got.length === n) done(got);
    });
  }, `${n} messages`);
}

test('DCEP: either side opens, labels and protocols arrive, ids follow the DTLS role (RFC 8832 §6)', async () => {
  const pair = await directSctpPair(STEP_MS);
  try {
    const incomingAtServer = nextChannel(pair.server);
    const fromClient = pair.client.createChannel({ label: 'chat ✓', protocol: 'x-proto' });
    const atServer = await incomingAtServer;
    assert.equal(fromClient.id % 2, 0, 'DTLS client uses even ids');
    assert.deepEqual([atServer.id, atServer.label, atServer.protocol, atServer.ordered], [fromClient.id, 'chat ✓', 'x-proto', true]);
    assert.equal(atServer.readyState, 'open');
    await opened(fromClient);

    const incomingAtClient = nextChannel(pair.client);
    const fromServer = pair.server.createChannel({ label: 'unordered', ordered: false, maxRetransmits: 3 });
    const atClient = await incomingAtClient;
    assert.equal(fromServer.id % 2, 1, 'DTLS server uses odd ids');
    assert.deepEqual([atClient.label, atClient.protocol, atClient.ordered, atClient.maxRetransmits], ['unordered', '', false, 3]);
    const second = pair.server.createChannel({ label: 'timed', maxPacketLifeTime: 1500 });
    const atClient2 = await nextChannel(pair.client);
    assert.equal(second.id, fromServer.id + 2);
    assert.equal(atClient2.maxPacketLifeTime, 1500);
    // Data both ways on DCEP channels.
    const ping = collect(atServer, 1);
    fromClient.send('ping');
    assert.deepEqual(await ping, ['ping']);
    const pong = collect(fromClient, 1);
    atServer.send(Buffer.from([1, 2, 3]));
    assert.deepEqual(await pong, [Buffer.from([1, 2, 3])]);
    assert.equal(pair.client.stats.dcepRejected + pair.server.stats.dcepRejected, 0);
  } finally {
    pair.close();
  }
});

test('negotiated channels on fixed ids: strings, binary, empty of both kinds, order kept', async () => {
  const pair = await directSctpPair(STEP_MS);
  try {
    const a = pair.client.createChannel({ label: 'n', negotiatedId: 7 });
    const b = pair.server.createChannel({ label: 'n', negotiatedId: 7 });
    assert.deepEqual([a.id, a.readyState, b.readyState], [7, 'open', 'open']);
    const messages: (string | Buffer)[] = ['héllo', Buffer.from('bin'), '', Buffer.alloc(0), 'x'.repeat(70_000), randomBytes(100_000)];
    for (let i = 0; i < 1000; i++) messages.push(`#${i}`);
    const got = collect(b, messages.length);
    for (const m of messages) assert.equal(a.send(m), true);
    const received = await got;
    assert.equal(received.length, messages.length);
    for (let i = 0; i < messages.length; i++) {
      const sent = messages[i];
      const r = received[i];
      assert.equal(typeof r, typeof sent, `kind of #${i}`);
      assert.ok(typeof sent === 'string' ? r === sent : Buffer.isBuffer(r) && r.equals(sent as Buffer), `content of #${i}`);
    }
    assert.equal(pair.server.stats.dcepMalformed, 0);
  } finally {
    pair.close();
  }
});

test('a message on a stream nobody registered is dropped and counted; too large is refused', async () => {
  const pair = await directSctpPair(STEP_MS);
  try {
    const lonely = pair.client.createChannel({ label: 'one-sided', negotiatedId: 40 });
    const known = pair.client.createChannel({ label: 'k', negotiatedId: 42 });
    const knownThere = pair.server.createChannel({ label: 'k', negotiatedId: 42 });
    const got = collect(knownThere, 1);
    lonely.send('nobody listens');
    known.send('after'); // ordered on another stream, but delivered after the first is processed
    await got;
    for (let i = 0; i < 50 && pair.server.stats.unknownStreamMessages === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(pair.server.stats.unknownStreamMessages, 1);
    assert.equal(known.send(Buffer.alloc(pair.client.maxMessageSize + 1)), false);
    assert.equal(pair.client.stats.oversizedMessages, 1);
  } finally {
    pair.close();
  }
});

test('close resets the stream (RFC 8831 §6.7): both ends see close; the id is reused once both directions are reset', async () => {
  const pair = await directSctpPair(STEP_MS);
  try {
    const incoming = nextChannel(pair.server);
    const ours = pair.client.createChannel({ label: 'bye' });
    const theirs = await incoming;
    const lastWords = collect(theirs, 1);
    ours.send('last');
    const closedHere = waitFor<void>((d) => ours.once('close', () => d()), 'close here');
    const closedThere = waitFor<void>((d) => theirs.once('close', () => d()), 'close there');
    ours.close();
    assert.equal(ours.readyState, 'closing');
    assert.equal(ours.send('too late'), false);
    assert.deepEqual(await lastWords, ['last'], 'data sent before close() is delivered');
    await Promise.all([closedHere, closedThere]);
    assert.deepEqual([ours.readyState, theirs.readyState], ['closed', 'closed']);
    // A channel opened right away works (on another id while the old one drains), and
    // the remote side closing it closes ours.
    const incoming2 = nextChannel(pair.server);
    const again = pair.client.createChannel({ label: 'again' });
    const there2 = await incoming2;
    assert.equal(there2.id, again.id);
    const closed2 = waitFor<void>((d) => again.once('close', () => d()), 'close after remote reset');
    there2.close();
    await closed2;
    // Once the peer has reset its direction too, the first id is handed out again.
    let reused = -1;
    for (let i = 0; i < 100 && reused !== ours.id; i++) {
      await new Promise((r) => setTimeout(r, 10));
      const probe = pair.client.createChannel({ label: `probe${i}` });
      reused = probe.id;
      if (reused !== ours.id) probe.close();
    }
    assert.equal(reused, ours.id);
  } finally {
    pair.close();
  }
});

test('association close: channels close, state closed; garbage packets are counted, not thrown', async () => {
  const pair = await directSctpPair(STEP_MS);
  const ch = pair.client.createChannel({ label: 'g', negotiatedId: 2 });
  for (let i = 0; i < 3000; i++) pair.server.handle(randomBytes(i % 300));
  const header = Buffer.alloc(12); // right size, wrong tag and checksum
  pair.server.handle(header);
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(pair.server.stats.badPackets > 0);
  assert.equal(pair.server.state, 'open');
  const closed = waitFor<void>((d) => ch.once('close', () => d()), 'channel close');
  const down = waitFor<void>((d) => pair.server.once('closed', () => d()), 'remote association closed');
  pair.client.close();
  await Promise.all([closed, down]);
  assert.deepEqual([pair.client.state, pair.server.state, ch.readyState], ['closed', 'closed', 'closed']);
  pair.server.close();
});

/** Sends `total` bytes as 16 KiB messages, pausing on bufferedAmount like a browser app would. */
async function transfer(pair: { client: SctpAssociation; server: SctpAssociation }, total: number) {
  const source = randomBytes(total);
  const CHUNK = 16 * 1024;
  const HIGH = 1024 * 1024;
  const sender = pair.client.createChannel({ label: 'bulk', negotiatedId: 100 });
  const receiver = pair.server.createChannel({ label: 'bulk', negotiatedId: 100 });
  sender.bufferedAmountLowThreshold = 256 * 1024;
  const hash = createHash('sha256');
  let received = 0;
  const started = performance.now();
  const done = waitFor<void>(
    (d) => {
      receiver.on('message', (m) => {
        assert.ok(Buffer.isBuffer(m));
        hash.update(m);
        received += m.length;
        if (received >= total) d();
      });
    },
    `${total} bytes`,
    60_000,
  );
  let lowEvents = 0;
  let maxBuffered = 0;
  for (let offset = 0; offset < total; offset += CHUNK) {
    if (sender.bufferedAmount > HIGH) {
      await waitFor<void>((d) => sender.once('bufferedamountlow', () => d()), 'bufferedamountlow', 30_000);
      lowEvents++;
    }
    assert.equal(sender.send(source.subarray(offset, offset + CHUNK)), true);
    maxBuffered = Math.max(maxBuffered, sender.bufferedAmount);
  }
  await done;
  const ms = performance.now() - started;
  assert.equal(received, total);
  assert.equal(hash.digest('hex'), createHash('sha256').update(source).digest('hex'));
  return { ms, lowEvents, maxBuffered };
}

test('5 MB as 16 KiB messages with back-pressure, direct link: all of it, in order', async (t) => {
  const pair = await directSctpPair(STEP_MS);
  try {
    const r = await transfer(pair, 5 * 1024 * 1024);
    assert.ok(r.lowEvents > 0, 'back-pressure was exercised');
    t.diagnostic(
      `direct: 5 MiB in ${r.ms.toFixed(0)} ms (${((5 * 8) / (r.ms / 1000)).toFixed(1)} Mbit/s), ${r.lowEvents} bufferedamountlow waits, max bufferedAmount ${r.maxBuffered}`,
    );
  } finally {
    pair.close();
  }
});

test('5 MB as 16 KiB messages with back-pressure, over our DTLS pair: all of it, in order', async (t) => {
  const pair = await dtlsSctpPair(STEP_MS);
  try {
    const r = await transfer(pair, 5 * 1024 * 1024);
    assert.ok(r.lowEvents > 0, 'back-pressure was exercised');
    t.diagnostic(
      `over DTLS: 5 MiB in ${r.ms.toFixed(0)} ms (${((5 * 8) / (r.ms / 1000)).toFixed(1)} Mbit/s), ${r.lowEvents} bufferedamountlow waits`,
    );
  } finally {
    pair.close();
  }
});
