/**
 * Run inside a network namespace that has only a loopback interface and no route out
 * (test/netlab/turn-refusals.test.ts): starts a TURN server with the default peer filter on
 * that namespace's loopback and asks it to relay to addresses it must refuse. Even if the
 * filter were wrong, no packet could leave. Prints one JSON line with what the server said.
 */
import { StunClass, StunMessageBuilder, StunMethod, Attr } from '../../src/stun/index.js';
import { TurnServer } from '../../src/turn/TurnServer.js';
import { TurnTestClient, errorCode } from './turn-client.js';

const REFUSED_V4 = [
  '127.0.0.1',
  '10.0.0.1',
  '169.254.169.254',
  '0.0.0.0',
  '172.16.5.4',
  '192.168.1.1',
  '100.64.0.1',
  '224.0.0.1',
  '255.255.255.255',
  '198.18.0.1',
];
const REFUSED_V6 = [
  '::ffff:127.0.0.1',
  '::ffff:10.0.0.1',
  '::ffff:169.254.169.254',
  '::ffff:0.0.0.0',
  '::1',
  '::',
  '::127.0.0.1',
  'fe80::1',
  'fd00::1',
  'ff02::1',
  '64:ff9b::a9fe:a9fe',
  '2002:7f00:1::1',
];

async function main(): Promise<void> {
  // '::' inside this namespace means its loopback addresses only: 127.0.0.1 and ::1.
  const server = new TurnServer({
    host: '::',
    port: 3478,
    realm: 'lab',
    users: ['eve:pw', 'zed:pw'],
    allowPeers: [],
    maxAllocations: 3,
    maxAllocationsPerUser: 2,
    maxBitrateKbps: 0,
  });
  await server.listen();
  const open = async (host: string, user = 'eve'): Promise<TurnTestClient> => {
    const c = await TurnTestClient.open('udp', host, server.port);
    c.username = user;
    c.password = 'pw';
    return c;
  };
  const out: Record<string, unknown> = { addresses: server.addresses };

  const anon = await open('127.0.0.1');
  const r401 = await anon.exchange(
    new StunMessageBuilder(StunMethod.Allocate, StunClass.Request).add(Attr.RequestedTransport, Buffer.from([17, 0, 0, 0])),
  );
  out.unauthenticated = { code: errorCode(r401), allocationsAfter: server.activeAllocations, created: server.counters.allocationsCreated };

  const v4 = await open('127.0.0.1');
  await v4.allocate();
  const v6 = await open('::1');
  await v6.allocate([[Attr.RequestedAddressFamily, Buffer.from([0x02, 0, 0, 0])]]);
  const permission: Record<string, number | undefined> = {};
  const channel: Record<string, number | undefined> = {};
  let ch = 0x4000;
  for (const [c, list] of [
    [v4, REFUSED_V4],
    [v6, REFUSED_V6],
  ] as const) {
    for (const address of list) {
      permission[address] = errorCode(await c.createPermission({ address, port: 5000 }));
      channel[address] = errorCode(await c.channelBind(ch++, { address, port: 5000 }));
    }
  }
  out.permission = permission;
  out.channel = channel;
  // One refused address among allowed ones: all or nothing (§10.2). No traffic is sent.
  out.mixed = errorCode(await v4.createPermission({ address: '1.1.1.1', port: 1 }, { address: '127.0.0.1', port: 1 }));
  out.publicAllowed = (await v4.createPermission({ address: '1.1.1.1', port: 1 })).cls === StunClass.Success;
  const dropped0 = server.counters.dropped;
  v4.sendIndication({ address: '127.0.0.1', port: server.port }, Buffer.from('loop'));
  await new Promise((r) => setTimeout(r, 200));
  out.sendDropped = server.counters.dropped - dropped0;
  out.relayedToPeers = server.counters.toPeerPackets;

  // Quotas: eve has 2 allocations (v4 and v6); a third is refused, and so is a 4th on the server.
  const third = await open('127.0.0.1');
  out.perUserQuota = errorCode(await third.allocate());
  const zed1 = await open('127.0.0.1', 'zed');
  const zed2 = await open('127.0.0.1', 'zed');
  out.zedFirst = (await zed1.allocate()).cls === StunClass.Success;
  out.totalQuota = errorCode(await zed2.allocate());
  out.active = server.activeAllocations;
  for (const c of [anon, v4, v6, third, zed1, zed2]) c.close();
  await server.close();
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((err: Error) => {
  process.stdout.write(JSON.stringify({ error: err.stack ?? err.message }) + '\n');
  process.exitCode = 1;
});
