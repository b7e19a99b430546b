/**
 * The TURN server's own parsers beside the codec (whose fuzz run is stun-fuzz): the TCP/TLS
 * stream framer, the nonce check and the peer filter. Valid streams cut at random places come
 * out frame for frame; random bytes and strings never throw.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StunClass, StunMessageBuilder, StunMethod, encodeChannelData } from '../../src/stun/index.js';
import { NonceIssuer } from '../../src/turn/nonce.js';
import { PeerAddressFilter } from '../../src/turn/peer-filter.js';
import { StreamFramer } from '../../src/turn/listeners/stream-framer.js';

let seed = 7;
const rnd = (n: number): number => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed % n;
};
const bytes = (n: number): Buffer => {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = rnd(256);
  return b;
};

test('StreamFramer: 2,000 streams of STUN and padded ChannelData, cut at random points, come out whole and in order', () => {
  for (let s = 0; s < 2000; s++) {
    const frames: Buffer[] = [];
    for (let i = 0; i < 1 + rnd(8); i++) {
      frames.push(
        rnd(2) === 0
          ? new StunMessageBuilder(StunMethod.Binding, StunClass.Request).add(0x8022, bytes(rnd(40))).build()
          : encodeChannelData(0x4000 + rnd(0x4000), bytes(rnd(300)), true),
      );
    }
    const stream = Buffer.concat(frames);
    const framer = new StreamFramer();
    const out: Buffer[] = [];
    let at = 0;
    while (at < stream.length) {
      const n = 1 + rnd(Math.min(200, stream.length - at));
      assert.equal(
        framer.push(stream.subarray(at, at + n), (f) => {
          out.push(Buffer.from(f));
        }),
        true,
      );
      at += n;
    }
    assert.equal(out.length, frames.length);
    // ChannelData comes out without its stream padding.
    out.forEach((f, i) => assert.deepEqual(f, (frames[i] as Buffer).subarray(0, f.length)));
  }
});

test('StreamFramer, nonce check and peer filter: 200,000 random inputs never throw', () => {
  const nonces = new NonceIssuer(60_000, 'obMatJos2AAAB');
  const filter = new PeerAddressFilter(['10.0.0.0/8']);
  const valid = nonces.issue('198.18.0.5');
  let frames = 0;
  for (let i = 0; i < 200_000; i++) {
    const framer = new StreamFramer();
    framer.push(bytes(1 + rnd(64)), () => {
      frames++;
    });
    const s =
      rnd(2) === 0
        ? valid.slice(0, rnd(valid.length + 1)) + bytes(rnd(4)).toString('latin1')
        : bytes(rnd(40)).toString(rnd(2) ? 'utf8' : 'base64url');
    if (s !== valid) assert.notEqual(nonces.check(s, '198.18.0.5'), 'valid');
    filter.check(rnd(2) ? s : `${rnd(300)}.${rnd(300)}.${rnd(300)}.${rnd(300)}`);
  }
  assert.ok(frames > 0, 'some random bytes frame as STUN or ChannelData');
  assert.equal(nonces.check(valid, '198.18.0.5'), 'valid');
  assert.equal(nonces.check(valid, '198.18.0.6'), 'invalid', 'a nonce is bound to the client IP');
});
