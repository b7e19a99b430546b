/** RateLimit: over the rate, one refusal answered per interval and the rest dropped silently. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RateLimit } from '../../src/util/RateLimit.js';

test('the burst is allowed, then one refusal per interval is answered and the rest dropped', () => {
  // One token per 2 s, burst 2; refusals answered at most once a second.
  const limit = new RateLimit(0.5, 2, 1000, 0);
  assert.deepEqual(
    [0, 0].map((t) => limit.take(t)),
    ['allow', 'allow'],
  );
  assert.deepEqual(
    [0, 10, 500, 999].map((t) => limit.take(t)),
    ['refuse', 'drop', 'drop', 'drop'],
  );
  // An interval after the last answered refusal, a refusal is answered again.
  assert.deepEqual(
    [1000, 1500].map((t) => limit.take(t)),
    ['refuse', 'drop'],
  );
  // Two seconds after the bucket emptied, one token is back.
  assert.deepEqual(
    [2000, 2000].map((t) => limit.take(t)),
    ['allow', 'refuse'],
  );
});

test('the first refusal is answered whatever the clock reads', () => {
  const limit = new RateLimit(1, 1, 1000, 5);
  assert.equal(limit.take(5), 'allow');
  assert.equal(limit.take(5), 'refuse');
});
