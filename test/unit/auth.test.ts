/** Access tokens and the `switchboard token` command. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { createAccessToken, grantsRoom, parseDuration, verifyAccessToken } from '../../src/signaling/auth.js';

const run = promisify(execFile);
const CLI = new URL('../../src/cli/main.js', import.meta.url).pathname;

test('a token round-trips with its grants', async () => {
  const t = await createAccessToken({ secret: 'k', identity: 'ann', room: 'r1', ttlSeconds: 120, name: 'Ann' });
  const g = await verifyAccessToken(t, 'k');
  assert.deepEqual({ ...g, expiresAt: 0 }, { identity: 'ann', room: 'r1', name: 'Ann', expiresAt: 0 });
  assert.ok(Math.abs(g.expiresAt - (Date.now() / 1000 + 120)) < 5);
  assert.equal(grantsRoom(g, 'r1'), true);
  assert.equal(grantsRoom(g, 'r2'), false);
  assert.equal(grantsRoom({ ...g, room: '*' }, 'r2'), true);
});

test('verification refuses what it must', async () => {
  const t = await createAccessToken({ secret: 'k', identity: 'ann', room: 'r1', ttlSeconds: 60 });
  await assert.rejects(verifyAccessToken(t, 'other'), { code: 'token-invalid' });
  await assert.rejects(verifyAccessToken(t.slice(0, -2) + 'xx', 'k'), { code: 'token-invalid' });
  await assert.rejects(verifyAccessToken('', 'k'), { code: 'token-invalid' });
  const expired = await createAccessToken({ secret: 'k', identity: 'ann', room: 'r1', ttlSeconds: -5 });
  await assert.rejects(verifyAccessToken(expired, 'k'), { code: 'token-expired' });
});

test('durations', () => {
  assert.deepEqual(['30s', '10m', '1h', '2d', '45', 'x', '1w', ''].map(parseDuration), [
    30,
    600,
    3600,
    172800,
    45,
    undefined,
    undefined,
    undefined,
  ]);
});

test('switchboard token prints a verifiable JWT', async () => {
  const { stdout } = await run('node', [CLI, 'token', '--room', 'R', '--identity', 'I', '--ttl', '1h', '--secret', 'cli-secret']);
  const g = await verifyAccessToken(stdout.trim(), 'cli-secret');
  assert.deepEqual([g.identity, g.room], ['I', 'R']);
  assert.ok(Math.abs(g.expiresAt - (Date.now() / 1000 + 3600)) < 10);
  const viaEnv = await run('node', [CLI, 'token', '--room', '*', '--identity', 'J'], {
    env: { ...process.env, SWITCHBOARD_AUTH_SECRET: 'env-secret' },
  });
  assert.equal((await verifyAccessToken(viaEnv.stdout.trim(), 'env-secret')).room, '*');
  const env = { ...process.env };
  delete env.SWITCHBOARD_AUTH_SECRET;
  await assert.rejects(
    run('node', [CLI, 'token', '--room', 'R', '--identity', 'I'], { env }),
    (err: { code: number; stderr: string }) => err.code === 2 && /--secret or SWITCHBOARD_AUTH_SECRET is required/.test(err.stderr),
  );
  await assert.rejects(
    run('node', [CLI, 'token', '--room', 'R', '--identity', 'I', '--secret', 's', '--ttl', 'soon']),
    (err: { code: number; stderr: string }) => err.code === 2 && /--ttl must look like/.test(err.stderr),
  );
});
