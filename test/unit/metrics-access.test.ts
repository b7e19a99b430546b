/** Who may read /metrics: the pure request check, with remote addresses a test cannot bind. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkMetricsAccess, isLoopbackAddress } from '../../src/server/metrics-access.js';

const TOKEN = 'metrics-token-0123456789';

test('no token, app port: loopback clients only, 403 for anyone else', () => {
  const app = { token: undefined, loopbackOnly: true };
  for (const a of ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1', '0:0:0:0:0:0:0:1']) {
    assert.deepEqual(checkMetricsAccess({ remoteAddress: a, authorization: undefined }, app), { ok: true }, a);
  }
  for (const a of [
    '198.18.0.7',
    '10.0.0.1',
    '::ffff:198.18.0.7',
    '2001:db8::1',
    '::',
    '0.0.0.0',
    '128.0.0.1',
    'localhost',
    '',
    undefined,
  ]) {
    const d = checkMetricsAccess({ remoteAddress: a, authorization: undefined }, app);
    assert.equal(d.ok ? 200 : d.status, 403, String(a));
  }
  // A Forwarded/X-Forwarded-For header is no address: only the TCP peer counts (not even read).
  assert.equal(isLoopbackAddress('198.18.0.7'), false);
});

test('with a token: the bearer token is needed from everywhere, loopback too', () => {
  for (const loopbackOnly of [true, false]) {
    const opts = { token: TOKEN, loopbackOnly };
    for (const remoteAddress of ['127.0.0.1', '198.18.0.7']) {
      assert.deepEqual(checkMetricsAccess({ remoteAddress, authorization: `Bearer ${TOKEN}` }, opts), { ok: true });
      // RFC 7235 §2.1: the scheme name is case-insensitive.
      assert.deepEqual(checkMetricsAccess({ remoteAddress, authorization: `bearer ${TOKEN}` }, opts), { ok: true });
      for (const authorization of [
        undefined,
        '',
        `Bearer ${TOKEN}x`,
        `Bearer ${TOKEN.slice(1)}`,
        `Basic ${TOKEN}`,
        `Bearer  ${TOKEN}`,
        TOKEN,
      ]) {
        const d = checkMetricsAccess({ remoteAddress, authorization }, opts);
        assert.equal(d.ok ? 200 : d.status, 401, `${remoteAddress} ${String(authorization)}`);
      }
    }
  }
});

test('no token, separate listener: open to whoever reaches it', () => {
  assert.deepEqual(
    checkMetricsAccess({ remoteAddress: '198.18.0.7', authorization: undefined }, { token: undefined, loopbackOnly: false }),
    { ok: true },
  );
});
