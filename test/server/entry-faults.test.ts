/**
 * A handler that throws on purpose while handling network input does not stop the server: the
 * guard at the entry point catches it, counts it in /metrics, drops the offending packet or
 * connection, and everything else keeps working. The handlers are replaced on the live server
 * objects, so the fault comes from exactly where a real bug would.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { startSwitchboard, type Switchboard } from '../../src/server/app.js';
import { entryFaults } from '../../src/util/guarded.js';
import { until } from '../helpers/until.js';

let sb: Switchboard;

before(async () => {
  sb = await startSwitchboard({
    workers: 0,
    port: 0,
    turnPort: 0,
    rtcPort: 0,
    host: '127.0.0.1',
    rtcHost: '127.0.0.1',
    logLevel: 'silent',
  });
});
after(async () => {
  await sb.close();
});

function faults(where: string): number {
  return entryFaults.byEntryPoint().get(where) ?? 0;
}

/** Replaces a private method of a live object for the length of `body`. */
async function throwingIn<T extends object>(obj: T, method: string, body: () => Promise<void>): Promise<void> {
  const o = obj as unknown as Record<string, unknown>;
  const original = o[method];
  assert.equal(typeof original, 'function', `${method} exists`);
  o[method] = () => {
    throw new Error(`injected fault in ${method}`);
  };
  try {
    await body();
  } finally {
    o[method] = original;
  }
}

async function healthy(): Promise<void> {
  const res = await fetch(`${sb.url}/healthz`);
  assert.equal(res.status, 200);
}

test('a throwing UDP packet handler on the RTC port drops the packet, counts it, and the server lives', async () => {
  const port = sb.rtc!.port;
  const before = faults('rtc.udp.message');
  const udp = createSocket('udp4');
  await throwingIn(port, 'onUdp', async () => {
    for (let i = 0; i < 5; i++) udp.send(Buffer.from([0x80, 0x60, 0, i]), port.udpPort, '127.0.0.1');
    await until('five faults counted', () => faults('rtc.udp.message') === before + 5);
  });
  udp.close();
  await healthy();
  const metrics = await (await fetch(`${sb.url}/metrics`)).text();
  assert.match(metrics, /switchboard_entry_faults_total\{where="rtc\.udp\.message"\} [1-9]/);
});

test('a throwing ICE-TCP frame handler closes that connection only', async () => {
  const port = sb.rtc!.port;
  const before = faults('rtc.tcp.data');
  const bystander = connect(port.tcpPort, '127.0.0.1');
  await new Promise((r) => bystander.once('connect', r));
  await throwingIn(port, 'onTcpFrame', async () => {
    const s = connect(port.tcpPort, '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    const closed = new Promise((r) => s.once('close', r));
    // One RFC 4571 frame holding a STUN-looking byte.
    s.write(Buffer.from([0, 4, 0, 1, 0, 0]));
    await closed;
  });
  assert.equal(faults('rtc.tcp.data'), before + 1);
  assert.equal(bystander.destroyed, false, 'the other connection stays open');
  bystander.destroy();
  await healthy();
});
