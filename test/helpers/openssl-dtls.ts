/** OpenSSL's CLI as an independent DTLS 1.2 peer for interop tests (loopback only). */
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface OpensslIdentity {
  dir: string;
  certPath: string;
  keyPath: string;
  certDer: Buffer;
  remove(): void;
}

/** An ECDSA P-256 self-signed certificate made by OpenSSL in a fresh temp dir. */
export async function makeOpensslIdentity(): Promise<OpensslIdentity> {
  const dir = mkdtempSync(join(tmpdir(), 'sb-dtls-'));
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    keyPath,
    '-out',
    certPath,
    '-subj',
    '/CN=openssl-peer',
    '-days',
    '1',
  ]);
  const certDer = new X509Certificate(readFileSync(certPath)).raw;
  return { dir, certPath, keyPath, certDer, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** OpenSSL's name for each DTLS-SRTP profile id (RFC 5764 §4.1.2, RFC 7714 §14.2). */
export const OPENSSL_SRTP_NAMES: ReadonlyMap<number, string> = new Map([
  [0x0001, 'SRTP_AES128_CM_SHA1_80'],
  [0x0007, 'SRTP_AEAD_AES_128_GCM'],
]);

export interface OpensslPeer {
  child: ChildProcessWithoutNullStreams;
  /** Resolves with the exporter output once OpenSSL prints it; rejects on exit or timeout. */
  keyingMaterial(): Promise<Buffer>;
  /** Resolves when OpenSSL's output contains `text`. */
  waitFor(text: string, timeoutMs: number): Promise<void>;
  output(): string;
  stop(): void;
}

/** Starts `openssl s_client` or `s_server`; stdin stays open so it keeps the session. */
export function startOpenssl(mode: 's_client' | 's_server', args: string[], timeoutMs: number): OpensslPeer {
  const child = spawn('openssl', [mode, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let text = '';
  const waiters = new Set<() => void>();
  const onText = (chunk: Buffer): void => {
    text += chunk.toString('latin1');
    for (const w of [...waiters]) w();
  };
  child.stdout.on('data', onText);
  child.stderr.on('data', onText);
  const waitFor = (needle: string, ms: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        if (text.includes(needle)) done(resolve);
      };
      const done = (f: () => void): void => {
        clearTimeout(timer);
        waiters.delete(check);
        child.off('exit', onExit);
        f();
      };
      const onExit = (): void => done(() => reject(new Error(`openssl exited before "${needle}":\n${text}`)));
      const timer = setTimeout(() => done(() => reject(new Error(`timeout waiting for "${needle}":\n${text}`))), ms);
      waiters.add(check);
      child.once('exit', onExit);
      check();
    });
  const keyingMaterial = (): Promise<Buffer> =>
    waitFor('Keying material: ', timeoutMs).then(async () => {
      // The hex string ends with a newline; wait for it if it is still arriving.
      const match = await new Promise<RegExpMatchArray>((resolve, reject) => {
        let rounds = 0;
        const poll = (): void => {
          const m = text.match(/Keying material: ([0-9A-Fa-f]+)\r?\n/);
          if (m) resolve(m);
          else if (++rounds > 50) reject(new Error(`no keying material line:\n${text}`));
          else setTimeout(poll, 20);
        };
        poll();
      });
      return Buffer.from(match[1] ?? '', 'hex');
    });
  return {
    child,
    keyingMaterial,
    waitFor,
    output: () => text,
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    },
  };
}
