/** /metrics is not public: a bearer token, a separate listener, or loopback clients only. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import type { RestError } from '../../src/protocol/index.js';
import { startSwitchboard, type Switchboard } from '../../src/server/app.js';
import type { ServerConfig } from '../../src/server/config.js';

const BASE: Partial<ServerConfig> = { port: 0, host: '127.0.0.1', logLevel: 'silent', turnEnabled: false, rtcEnabled: false };
const TOKEN = 'metrics-token-0123456789';

async function get(url: string, authorization?: string): Promise<{ status: number; body: string; wwwAuthenticate: string | null }> {
  const res = await fetch(url, authorization !== undefined ? { headers: { authorization } } : {});
  return { status: res.status, body: await res.text(), wwwAuthenticate: res.headers.get('www-authenticate') };
}

describe('metricsToken', () => {
  let sb: Switchboard;
  before(async () => {
    sb = await startSwitchboard({ ...BASE, metricsToken: TOKEN });
  });
  after(async () => {
    await sb.close();
  });

  test('/metrics needs the bearer token, even from loopback', async () => {
    for (const auth of [undefined, `Bearer ${TOKEN}-wrong`, `Basic ${TOKEN}`]) {
      const r = await get(`${sb.url}/metrics`, auth);
      assert.equal(r.status, 401, String(auth));
      assert.equal(r.wwwAuthenticate, 'Bearer realm="switchboard-metrics"');
      assert.equal((JSON.parse(r.body) as RestError).error.code, 'unauthorized');
      assert.doesNotMatch(r.body, /switchboard_/);
    }
    const ok = await get(`${sb.url}/metrics`, `Bearer ${TOKEN}`);
    assert.equal(ok.status, 200);
    assert.match(ok.body, /^switchboard_connections \d+$/m);
    // Health stays open for load balancers.
    assert.equal((await get(`${sb.url}/healthz`)).status, 200);
  });
});

describe('metricsPort: a separate listener', () => {
  let sb: Switchboard;
  before(async () => {
    sb = await startSwitchboard({ ...BASE, metricsPort: 0 });
  });
  after(async () => {
    await sb.close();
  });

  test('serves /metrics and /healthz only; the app port no longer serves /metrics', async () => {
    const base = sb.metricsUrl as string;
    assert.match(base, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(base, sb.url);
    const m = await get(`${base}/metrics`);
    assert.equal(m.status, 200);
    assert.match(m.body, /^switchboard_connections \d+$/m);
    assert.equal((JSON.parse((await get(`${base}/healthz`)).body) as { status: string }).status, 'ok');
    for (const path of ['/', '/api/calls', '/index.html']) assert.equal((await get(`${base}${path}`)).status, 404, path);
    const app = await get(`${sb.url}/metrics`);
    assert.equal(app.status, 404);
    assert.doesNotMatch(app.body, /switchboard_/);
    // No signaling on the metrics listener.
    const upgraded = await new Promise<string>((resolve) => {
      const ws = new WebSocket(`${base.replace('http', 'ws')}/ws`);
      ws.on('open', () => {
        resolve('open');
        ws.terminate();
      });
      ws.on('error', () => resolve('refused'));
    });
    assert.equal(upgraded, 'refused');
  });
});

describe('metricsPort with metricsToken', () => {
  let sb: Switchboard;
  before(async () => {
    sb = await startSwitchboard({ ...BASE, metricsPort: 0, metricsToken: TOKEN });
  });
  after(async () => {
    await sb.close();
  });

  test('the separate listener needs the token too', async () => {
    assert.equal((await get(`${sb.metricsUrl}/metrics`)).status, 401);
    assert.equal((await get(`${sb.metricsUrl}/metrics`, `Bearer ${TOKEN}`)).status, 200);
  });
});

describe('default: no token, no separate listener', () => {
  let sb: Switchboard;
  before(async () => {
    sb = await startSwitchboard(BASE);
  });
  after(async () => {
    await sb.close();
  });

  test('/metrics on the app port answers a loopback client (others get 403: test/unit/metrics-access)', async () => {
    assert.equal(sb.metricsUrl, undefined);
    const r = await get(`${sb.url}/metrics`);
    assert.equal(r.status, 200);
    assert.match(r.body, /^switchboard_connections \d+$/m);
  });
});
