/** TURN REST credentials: the same HMAC another implementation computes, expiry, tampering. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { turnRestCredential, turnRestPassword, verifyTurnRestCredential } from '../../src/turn/rest-credentials.js';

test("username is expiry:identity and the password matches openssl's HMAC-SHA1", () => {
  const now = Date.UTC(2026, 0, 1);
  const c = turnRestCredential('north-wind', 'alice', 3600, now);
  assert.equal(c.username, `${now / 1000 + 3600}:alice`);
  assert.equal(c.expiresAt, now / 1000 + 3600);
  // An independent implementation of the same formula.
  const hex = execFileSync('openssl', ['dgst', '-sha1', '-hmac', 'north-wind', '-hex'], { input: c.username, encoding: 'utf8' })
    .trim()
    .split(' ')
    .pop() as string;
  assert.equal(c.credential, Buffer.from(hex, 'hex').toString('base64'));
});

test('verification: right pair accepted; expired, tampered or wrong secret refused', () => {
  const now = Date.now();
  const c = turnRestCredential('s3', 'bob', 60, now);
  assert.equal(verifyTurnRestCredential('s3', c.username, c.credential, now), true);
  assert.equal(verifyTurnRestCredential('s3', c.username, c.credential, now + 61_000), false, 'expired');
  assert.equal(verifyTurnRestCredential('other', c.username, c.credential, now), false, 'wrong secret');
  const later = c.username.replace(/^\d+/, String(c.expiresAt + 86_400));
  assert.equal(verifyTurnRestCredential('s3', later, c.credential, now), false, 'expiry extended by the client');
  assert.equal(verifyTurnRestCredential('s3', 'bob', turnRestPassword('s3', 'bob'), now), false, 'no expiry');
  assert.equal(verifyTurnRestCredential('s3', c.username, '', now), false);
});
