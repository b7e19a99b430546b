/** A TURN server for tests on 127.0.0.1 (UDP, TCP, TLS) and clients logged in to it. */
import { TurnServer, type TurnServerOptions } from '../../src/turn/TurnServer.js';
import type { TestCert } from './tls-cert.js';
import { TurnTestClient, type Transport } from './turn-client.js';

/** Users alice:wonderland and bob:builder; loopback peers allowed on purpose (refused by default). */
export async function startTestTurnServer(cert: TestCert, o: Partial<TurnServerOptions> = {}): Promise<TurnServer> {
  const s = new TurnServer({
    host: '127.0.0.1',
    port: 0,
    realm: 'test.realm',
    users: ['alice:wonderland', 'bob:builder'],
    allowPeers: ['127.0.0.0/8'],
    maxAllocations: 100,
    maxAllocationsPerUser: 100,
    maxBitrateKbps: 0,
    tls: { cert: cert.cert, key: cert.key, port: 0 },
    ...o,
  });
  await s.listen();
  return s;
}

export async function testTurnClient(
  s: TurnServer,
  transport: Transport,
  user = 'alice',
  password = 'wonderland',
): Promise<TurnTestClient> {
  const c = await TurnTestClient.open(transport, '127.0.0.1', transport === 'tls' ? s.tlsPort : s.port);
  c.username = user;
  c.password = password;
  return c;
}
