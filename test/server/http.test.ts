/** HTTP surface: health, metrics, static files (no traversal), HTTPS + WSS. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { RestError } from '../../src/protocol/index.js';
import { startSwitchboard, type Switchboard } from '../../src/server/app.js';
import { TestClient } from '../helpers/ws-client.js';

/** Raw GET, so paths like `/../x` reach the server unnormalised (fetch would clean them). */
function rawGet(port: number, path: string): Promise<{ status: number; type: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('plain HTTP', () => {
  let sb: Switchboard;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sb-web-'));
    mkdirSync(join(dir, 'web', 'assets'), { recursive: true });
    writeFileSync(join(dir, 'web', 'index.html'), '<!doctype html><title>app</title>');
    writeFileSync(join(dir, 'web', 'assets', 'app-1234.js'), 'console.log(1)');
    writeFileSync(join(dir, 'secret.txt'), 'outside the web root');
    // A file that stat()s as a regular file but fails on read (EIO): an operator's mistake in the web root.
    symlinkSync('/proc/self/mem', join(dir, 'web', 'unreadable.bin'));
    sb = await startSwitchboard({ port: 0, turnPort: 0, rtcPort: 0, host: '127.0.0.1', logLevel: 'silent', webRoot: join(dir, 'web') });
  });
  after(async () => {
    await sb.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('/healthz reports ok and counts', async () => {
    const [c] = await TestClient.hello(sb.wsUrl);
    await c.join('h1');
    const res = await fetch(`${sb.url}/healthz`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(body.status, 'ok');
    assert.equal(body.rooms, 1);
    assert.equal(body.participants, 1);
    c.terminate();
  });

  test('/metrics exposes rooms, participants, messages and errors', async () => {
    const [c] = await TestClient.hello(sb.wsUrl);
    await c.join('m1');
    await c.expectError('{bad');
    const text = await (await fetch(`${sb.url}/metrics`)).text();
    assert.match(text, /^switchboard_rooms \d+$/m);
    assert.match(text, /^switchboard_participants [1-9]\d*$/m);
    assert.match(text, /^switchboard_messages_total\{type="join"\} [1-9]\d*$/m);
    assert.match(text, /^switchboard_errors_total\{code="malformed-json"\} 1$/m);
    assert.match(text, /^switchboard_connections [1-9]\d*$/m);
    c.terminate();
  });

  test('the web app is served at / with any query, assets with their type', async () => {
    const index = await rawGet(sb.port, '/?room=a&name=b');
    assert.deepEqual([index.status, index.type, index.body], [200, 'text/html; charset=utf-8', '<!doctype html><title>app</title>']);
    const js = await rawGet(sb.port, '/assets/app-1234.js');
    assert.deepEqual([js.status, js.type], [200, 'text/javascript; charset=utf-8']);
  });

  test('nothing outside the web root is reachable; unknown paths are 404 JSON', async () => {
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt', '/%00', '/nope.html']) {
      const res = await rawGet(sb.port, path);
      assert.equal(res.status, 404, path);
      assert.equal((JSON.parse(res.body) as RestError).error.code, 'not-found', path);
      assert.doesNotMatch(res.body, /outside the web root/);
    }
    assert.equal((await rawGet(sb.port, '/api/unknown')).status, 404);
  });

  test('a file that fails on read ends its response only; the server keeps answering', async () => {
    for (let i = 0; i < 3; i++) {
      // Headers are not out when the read fails: the client sees its connection end, not a hang.
      const outcome = await Promise.race([
        rawGet(sb.port, '/unreadable.bin').then(
          () => 'answered',
          () => 'connection ended',
        ),
        new Promise((resolve) => setTimeout(() => resolve('no answer within 3 s'), 3000)),
      ]);
      assert.equal(outcome, 'connection ended');
    }
    const health = await fetch(`${sb.url}/healthz`);
    assert.equal(health.status, 200);
  });

  test('WebSocket upgrades elsewhere than /ws are refused', async () => {
    await assert.rejects(TestClient.connect(`ws://127.0.0.1:${sb.port}/other`), /404/);
  });
});

describe('HTTPS', () => {
  let sb: Switchboard;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sb-tls-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-subj',
        '/CN=localhost',
        '-days',
        '1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    sb = await startSwitchboard({
      port: 0,
      turnPort: 0,
      rtcPort: 0,
      host: '127.0.0.1',
      logLevel: 'silent',
      tlsCert: join(dir, 'cert.pem'),
      tlsKey: join(dir, 'key.pem'),
      turnTlsPort: 0,
    });
  });
  after(async () => {
    await sb.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('serves health over HTTPS and signaling over WSS', async () => {
    assert.match(sb.url, /^https:/);
    assert.match(sb.wsUrl, /^wss:/);
    const [c, w] = await TestClient.hello(sb.wsUrl, { identity: 'tls-user' }, { rejectUnauthorized: false });
    assert.equal(w.identity, 'tls-user');
    c.terminate();
    const health = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      httpsGet({ host: '127.0.0.1', port: sb.port, path: '/healthz', rejectUnauthorized: false }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => {
          body += c.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      }).on('error', reject);
    });
    assert.equal(health.status, 200);
    assert.equal((JSON.parse(health.body) as { status: string }).status, 'ok');
  });
});
