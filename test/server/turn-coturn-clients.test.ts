/**
 * Our TURN server driven by coturn's own client tools (Debian package `coturn`), an
 * independent implementation: turnutils_uclient allocates with TURN REST credentials
 * (-W secret) and relays 1,000-byte messages to a turnutils_peer echo, over UDP, TCP and TLS,
 * with channels and with Send indications; with -T (RFC 6062 TCP relay: -T implies -t -y -c,
 * so its clients Connect to each other's relayed addresses and -e/-r are ignored); a wrong
 * secret is refused.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, test } from 'node:test';
import { TurnServer } from '../../src/turn/TurnServer.js';
import { makeTestCert, type TestCert } from '../helpers/tls-cert.js';

const SECRET = 'coturn-tools-secret';
const PEER_PORT = 23480 + (process.pid % 1000);
let server: TurnServer;
let peer: ChildProcess;
let cert: TestCert;

before(async () => {
  cert = makeTestCert();
  server = new TurnServer({
    host: '127.0.0.1',
    port: 0,
    tls: { cert: cert.cert, key: cert.key, port: 0 },
    realm: 'switchboard.test',
    users: [],
    secret: SECRET,
    // turnutils_peer listens on loopback: allowed here on purpose (refused by default).
    allowPeers: ['127.0.0.0/8'],
    maxAllocations: 100,
    maxAllocationsPerUser: 100,
    maxBitrateKbps: 0,
  });
  await server.listen();
  peer = spawn('turnutils_peer', ['-L', '127.0.0.1', '-p', String(PEER_PORT)], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 300));
});

after(async () => {
  peer?.kill('SIGKILL');
  await server?.close();
  cert?.remove();
});

interface UclientResult {
  code: number | null;
  output: string;
  sent: number;
  received: number;
  lost: number | null;
}

function uclient(args: string[], timeoutMs = 30_000): Promise<UclientResult> {
  return new Promise((resolve) => {
    const c = spawn('turnutils_uclient', args);
    let output = '';
    c.stdout.on('data', (d: Buffer) => {
      output += d.toString();
    });
    c.stderr.on('data', (d: Buffer) => {
      output += d.toString();
    });
    const t = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
    c.on('exit', (code) => {
      clearTimeout(t);
      const totals = /tot_send_msgs=(\d+), tot_recv_msgs=(\d+)\s*$/m.exec(
        output
          .split('\n')
          .filter((l) => /start_mclient: tot_send_msgs/.test(l))
          .pop() ?? '',
      );
      const lost = /Total lost packets (\d+)/.exec(output);
      resolve({ code, output, sent: Number(totals?.[1] ?? 0), received: Number(totals?.[2] ?? 0), lost: lost ? Number(lost[1]) : null });
    });
  });
}

const common = (): string[] => ['-W', SECRET, '-u', 'ada', '-e', '127.0.0.1', '-r', String(PEER_PORT), '-l', '1000', '-n', '60', '-m', '5'];

for (const [label, flags, tls] of [
  ['UDP with channels', [], false],
  ['UDP with Send indications', ['-s'], false],
  ['TCP', ['-t'], false],
  ['TLS', ['-t', '-S'], true],
  ['TCP with TCP relays (RFC 6062)', ['-T'], false],
] as const) {
  test(`turnutils_uclient over ${label}: every 1,000-byte message comes back from the peer, none lost`, { timeout: 60_000 }, async () => {
    const r = await uclient([...flags, ...common(), '-p', String(tls ? server.tlsPort : server.port), '127.0.0.1']);
    assert.equal(r.code, 0, r.output.slice(-2000));
    assert.ok(r.sent >= 300, `sent ${r.sent}`);
    assert.equal(r.received, r.sent);
    assert.equal(r.lost, 0);
  });
}

test(
  'turnutils_uclient with a wrong REST secret cannot allocate; the server answered 401 and kept nothing',
  { timeout: 60_000 },
  async () => {
    const before401 = server.counters.errors[401] ?? 0;
    const created = server.counters.allocationsCreated;
    const r = await uclient([
      '-W',
      'not-the-secret',
      '-u',
      'ada',
      '-e',
      '127.0.0.1',
      '-r',
      String(PEER_PORT),
      '-n',
      '5',
      '-m',
      '1',
      '-p',
      String(server.port),
      '127.0.0.1',
    ]);
    assert.notEqual(r.code, 0);
    assert.match(r.output, /Cannot complete Allocation/);
    assert.equal(r.received, 0);
    assert.ok((server.counters.errors[401] ?? 0) > before401);
    assert.equal(server.counters.allocationsCreated, created);
  },
);
