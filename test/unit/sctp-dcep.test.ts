/** DCEP codec (RFC 8832 §5): exact bytes, round trips, refusals, and a mutation fuzz. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeDcepOpen, parseDcep, type DcepOpen } from '../../src/rtc/sctp/index.js';

const base: Omit<DcepOpen, 'type'> = {
  ordered: true,
  maxRetransmits: null,
  maxPacketLifeTime: null,
  priority: 0,
  label: 'chat',
  protocol: '',
};

test('DATA_CHANNEL_OPEN bytes follow RFC 8832 §5.1', () => {
  const buf = encodeDcepOpen({ ...base, ordered: false, maxRetransmits: 5, priority: 256, protocol: 'p' });
  assert.ok(buf);
  assert.equal(
    buf.toString('hex'),
    // type 03, channel type 81 (unordered rexmit), priority 0100, reliability 5, label len 4, protocol len 1
    '03' + '81' + '0100' + '00000005' + '0004' + '0001' + Buffer.from('chatp').toString('hex'),
  );
  // channel type 02 (timed, ordered), priority 0, reliability 1000 ms
  assert.equal(
    encodeDcepOpen({ ...base, maxPacketLifeTime: 1000 })
      ?.subarray(0, 8)
      .toString('hex'),
    '03' + '02' + '0000' + '000003e8',
  );
});

test('round trips for every channel type; ACK is one byte', () => {
  const variants: Omit<DcepOpen, 'type'>[] = [
    base,
    { ...base, ordered: false },
    { ...base, maxRetransmits: 0 },
    { ...base, maxPacketLifeTime: 65_535, ordered: false },
    { ...base, label: '', protocol: 'ünïcødé ✓' },
    { ...base, label: 'x'.repeat(65_535) },
  ];
  for (const v of variants) {
    const buf = encodeDcepOpen(v);
    assert.ok(buf);
    assert.deepEqual(parseDcep(buf), { type: 'open', ...v });
  }
  assert.deepEqual(parseDcep(Buffer.from([0x02])), { type: 'ack' });
  assert.equal(encodeDcepOpen({ ...base, label: 'x'.repeat(65_536) }), null);
});

test('refuses malformed messages', () => {
  const good = encodeDcepOpen({ ...base, protocol: 'p' });
  assert.ok(good);
  const cases: Buffer[] = [
    Buffer.alloc(0),
    Buffer.from([0x02, 0x00]), // ACK with trailing bytes
    Buffer.from([0x04]), // unknown message type
    good.subarray(0, 11), // short header
    good.subarray(0, good.length - 1), // label/protocol past the end
    Buffer.concat([good, Buffer.from([0])]), // trailing byte
    Buffer.from(good).fill(0x03, 1, 2), // channel type 0x03: not defined
    Buffer.concat([good.subarray(0, 12), Buffer.from([0xff, 0xfe, 0xfd, 0x70])]), // bad UTF-8 label
  ];
  for (const c of cases) assert.equal(parseDcep(c), null, c.toString('hex'));
});

test('fuzz: 120,000 mutated messages never throw, and every accepted one re-encodes to itself', () => {
  // Deterministic xorshift so a failure reproduces.
  let seed = 0x9e3779b9;
  const rnd = (n: number): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  const seeds = [
    encodeDcepOpen(base),
    encodeDcepOpen({ ...base, ordered: false, maxRetransmits: 7, label: 'ü', protocol: 'proto' }),
    encodeDcepOpen({ ...base, maxPacketLifeTime: 300, label: 'a longer label for the fuzz', protocol: 'x' }),
    Buffer.from([0x02]),
  ].filter((b): b is Buffer => b !== null);
  let accepted = 0;
  for (let i = 0; i < 120_000; i++) {
    const src = seeds[i % seeds.length] as Buffer;
    let buf = Buffer.from(src);
    const kind = rnd(4);
    if (kind === 0) {
      for (let k = 1 + rnd(4); k > 0; k--) buf[rnd(buf.length)] = rnd(256);
    } else if (kind === 1) {
      buf = buf.subarray(0, rnd(buf.length + 1));
    } else if (kind === 2) {
      const extra = Buffer.alloc(1 + rnd(8));
      for (let k = 0; k < extra.length; k++) extra[k] = rnd(256);
      buf = Buffer.concat([buf, extra]);
    } else if (buf.length >= 12) {
      buf.writeUInt16BE(rnd(0x10000), 8 + 2 * rnd(2)); // lie about a length
    }
    const parsed = parseDcep(buf);
    if (parsed?.type === 'open') {
      accepted++;
      const { type: _type, ...fields } = parsed;
      const again = encodeDcepOpen(fields);
      assert.ok(again);
      assert.deepEqual(parseDcep(again), parsed);
    }
  }
  assert.ok(accepted > 0, 'some mutations stay valid, so the accept path is exercised too');
});
