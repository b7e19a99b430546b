/** Two SctpAssociations joined by an in-process lossless link, optionally through DTLS. */
import { DtlsCertificate, DtlsTransport } from '../../src/rtc/dtls/index.js';
import { SctpAssociation } from '../../src/rtc/sctp/index.js';
import { pairLinks } from './dtls-bridge.js';

export interface SctpPair {
  client: SctpAssociation;
  server: SctpAssociation;
  close(): void;
}

function opened(a: SctpAssociation, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    if (a.state === 'open') return resolve();
    const timer = setTimeout(() => reject(new Error('SCTP did not open')), ms);
    a.once('open', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** SCTP packets cross on later macrotasks, as over a network. */
export async function directSctpPair(timeoutMs: number): Promise<SctpPair> {
  let toServer: (b: Buffer) => void = () => undefined;
  let toClient: (b: Buffer) => void = () => undefined;
  const client = new SctpAssociation({
    role: 'client',
    transport: { send: (b) => { const c = Buffer.from(b); setImmediate(() => toServer(c)); } },
  });
  const server = new SctpAssociation({
    role: 'server',
    transport: { send: (b) => { const c = Buffer.from(b); setImmediate(() => toClient(c)); } },
  });
  toServer = (b) => server.handle(b);
  toClient = (b) => client.handle(b);
  server.start();
  client.start();
  await Promise.all([opened(client, timeoutMs), opened(server, timeoutMs)]);
  return { client, server, close: () => { client.close(); server.close(); } };
}

/** SCTP over two of our DtlsTransports (client ↔ server) on an in-process link. */
export async function dtlsSctpPair(timeoutMs: number): Promise<SctpPair & { dtlsClient: DtlsTransport; dtlsServer: DtlsTransport }> {
  const [certA, certB] = await Promise.all([DtlsCertificate.create(), DtlsCertificate.create()]);
  const links = pairLinks();
  const dtlsServer = new DtlsTransport({ role: 'server', certificate: certA, remoteFingerprints: [certB.fingerprint], link: links.a });
  const dtlsClient = new DtlsTransport({ role: 'client', certificate: certB, remoteFingerprints: [certA.fingerprint], link: links.b });
  links.connect((b) => dtlsServer.handle(b), (b) => dtlsClient.handle(b));
  const server = new SctpAssociation({ role: 'server', transport: { send: (b) => dtlsServer.sendApplicationData(b) } });
  const client = new SctpAssociation({ role: 'client', transport: { send: (b) => dtlsClient.sendApplicationData(b) } });
  dtlsServer.on('data', (b) => server.handle(b));
  dtlsClient.on('data', (b) => client.handle(b));
  const up = (t: DtlsTransport) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('DTLS did not connect')), timeoutMs);
      t.once('connected', () => {
        clearTimeout(timer);
        resolve();
      });
      t.once('failed', (r) => reject(new Error(r)));
    });
  const both = Promise.all([up(dtlsServer), up(dtlsClient)]);
  dtlsServer.start();
  dtlsClient.start();
  await both;
  server.start();
  client.start();
  await Promise.all([opened(client, timeoutMs), opened(server, timeoutMs)]);
  return {
    client,
    server,
    dtlsClient,
    dtlsServer,
    close: () => {
      client.close();
      server.close();
      dtlsClient.close();
      dtlsServer.close();
    },
  };
}
