/**
 * RTP header view, header extensions (RFC 8285 §4.2/§4.3 figure shapes), extension values,
 * RTX (RFC 4588 §4), the VP8 descriptor (RFC 7741 §4.2), checked both ways against werift.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RtpHeader, RtpPacket, Vp8RtpPayload, unwrapRtx as weriftUnwrapRtx, wrapRtx as weriftWrapRtx } from 'werift';
import {
  AudioLevel,
  RtpHeaderView,
  SeqUnwrapper,
  Vp8Descriptor,
  absSendTimeFromMs,
  absSendTimeToSeconds,
  findHeaderExtension,
  isSeqNewer,
  isVp8Keyframe,
  parseRtpHeader,
  parseVp8Descriptor,
  readAbsSendTime,
  readAudioLevel,
  readSdesIdentifier,
  readTransportSequence,
  rtpHeaderLength,
  sdesIdentifierEquals,
  seqDelta,
  setMarker,
  setPayloadType,
  setSequenceNumber,
  setSsrc,
  setTimestamp,
  unwrapRtx,
  wrapRtx,
  writeAbsSendTime,
  writeAudioLevel,
  writeRtpHeader,
  writeSdesIdentifier,
  writeTransportSequence,
  writeVp8PictureId,
} from '../../src/rtc/rtp/index.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const FIXED = '90 e0 1a 2b 00 01 e2 40 de ad be ef'; // V=2 X=1 M=1 PT=96 seq=6699 ts=123456 ssrc

test('fixed header fields, CSRCs and payload bounds', () => {
  const buf = hex('82 08 ff ff ff ff ff ff 00 00 00 01 11 11 11 11 22 22 22 22 aa bb');
  const v = new RtpHeaderView();
  assert.equal(parseRtpHeader(buf, v), true);
  assert.deepEqual([v.version, v.padding, v.extension, v.csrcCount, v.marker, v.payloadType], [2, false, false, 2, false, 8]);
  assert.deepEqual([v.sequenceNumber, v.timestamp, v.ssrc], [65535, 0xffffffff, 1]);
  assert.deepEqual([v.headerLength, v.payloadLength, v.paddingLength], [20, 2, 0]);
});

test('padding: count includes itself; 0 or beyond the payload is malformed (RFC 3550 §5.1)', () => {
  const v = new RtpHeaderView();
  const padded = hex('a0 6f 00 01 00 00 00 02 00 00 00 03 01 02 03 00 00 03');
  assert.equal(parseRtpHeader(padded, v), true);
  assert.deepEqual([v.padding, v.payloadLength, v.paddingLength], [true, 3, 3]);
  const paddingOnly = hex('a0 6f 00 01 00 00 00 02 00 00 00 03 00 00 00 04');
  assert.equal(parseRtpHeader(paddingOnly, v), true);
  assert.equal(v.payloadLength, 0);
  assert.equal(parseRtpHeader(hex('a0 6f 00 01 00 00 00 02 00 00 00 03 01 00'), v), false, 'padding count 0');
  assert.equal(parseRtpHeader(hex('a0 6f 00 01 00 00 00 02 00 00 00 03 01 05'), v), false, 'padding past the header');
  assert.equal(parseRtpHeader(hex('a0 6f 00 01 00 00 00 02 00 00 00 03'), v), false, 'P set, no byte for the count');
});

test('malformed headers are refused', () => {
  const v = new RtpHeaderView();
  assert.equal(parseRtpHeader(hex('80 6f 00 01 00 00 00 02 00 00 00'), v), false, '11 bytes');
  assert.equal(parseRtpHeader(hex('40 6f 00 01 00 00 00 02 00 00 00 03'), v), false, 'version 1');
  assert.equal(parseRtpHeader(hex('81 6f 00 01 00 00 00 02 00 00 00 03 00 00 00'), v), false, 'CSRC cut short');
  assert.equal(parseRtpHeader(hex('90 6f 00 01 00 00 00 02 00 00 00 03 be de'), v), false, 'extension header cut short');
  assert.equal(parseRtpHeader(hex('90 6f 00 01 00 00 00 02 00 00 00 03 be de 00 02 10 61 00 00'), v), false, 'extension data cut short');
});

test('one-byte extensions: the RFC 8285 §4.2 figure (L=0 element, L=1 element, two pad bytes, L=3 element)', () => {
  const buf = hex(`${FIXED} be de 00 03  10 aa 21 bb  cc 00 00 33  01 02 03 04  ff`);
  const v = new RtpHeaderView();
  assert.equal(parseRtpHeader(buf, v), true);
  assert.deepEqual([v.extensionProfile, v.extensionOffset, v.extensionLength, v.headerLength, v.payloadLength], [0xbede, 16, 12, 28, 1]);
  assert.equal(findHeaderExtension(buf, v, 1), 17);
  assert.equal(v.extensionElementLength, 1);
  assert.equal(findHeaderExtension(buf, v, 2), 19);
  assert.equal(v.extensionElementLength, 2);
  assert.equal(findHeaderExtension(buf, v, 3), 24);
  assert.equal(v.extensionElementLength, 4);
  assert.equal(findHeaderExtension(buf, v, 4), -1);
  assert.equal(findHeaderExtension(buf, v, 15), -1);
});

test('one-byte extensions: ID 15 stops processing; an element past the block is not found', () => {
  const v = new RtpHeaderView();
  const reserved = hex(`${FIXED} be de 00 01  f0 20 61 00`);
  assert.equal(parseRtpHeader(reserved, v), true);
  assert.equal(findHeaderExtension(reserved, v, 2), -1);
  const overrun = hex(`${FIXED} be de 00 01  10 61 2f 62`);
  assert.equal(parseRtpHeader(overrun, v), true);
  assert.equal(findHeaderExtension(overrun, v, 1), 17);
  assert.equal(findHeaderExtension(overrun, v, 2), -1);
});

test('two-byte extensions: the RFC 8285 §4.3 figure (L=0, L=1, pad, L=4), app bits ignored', () => {
  const buf = hex(`${FIXED} 10 07 00 03  01 00 02 01  aa 00 03 04  01 02 03 04`);
  const v = new RtpHeaderView();
  assert.equal(parseRtpHeader(buf, v), true);
  assert.equal(findHeaderExtension(buf, v, 1), 18);
  assert.equal(v.extensionElementLength, 0);
  assert.equal(findHeaderExtension(buf, v, 2), 20);
  assert.equal(v.extensionElementLength, 1);
  assert.equal(findHeaderExtension(buf, v, 3), 24);
  assert.equal(v.extensionElementLength, 4);
  assert.equal(findHeaderExtension(buf, v, 4), -1);
});

test('an unknown extension profile has no elements', () => {
  const buf = hex(`${FIXED} 12 34 00 01  10 61 00 00`);
  const v = new RtpHeaderView();
  assert.equal(parseRtpHeader(buf, v), true);
  assert.equal(findHeaderExtension(buf, v, 1), -1);
});

test('writer chooses the one-byte form when all elements fit, else two-byte; werift reads both', () => {
  const out = Buffer.alloc(200);
  const v = new RtpHeaderView();
  const oneByte = [
    { id: 1, value: Buffer.from('0') },
    { id: 3, value: Buffer.from([0x12, 0x34]) },
    { id: 14, value: Buffer.alloc(16, 7) },
  ];
  const n1 = writeRtpHeader(
    out,
    0,
    { marker: true, payloadType: 111, sequenceNumber: 70000, timestamp: 2 ** 32 + 5, ssrc: 0xfedcba98 },
    oneByte,
  );
  assert.equal(n1, rtpHeaderLength(0, oneByte));
  assert.equal(n1, 12 + 4 + 24); // 2 + 3 + 17 = 22 bytes of elements, padded to 24
  const pkt1 = Buffer.concat([out.subarray(0, n1), Buffer.from('pay')]);
  assert.equal(parseRtpHeader(pkt1, v), true);
  assert.deepEqual(
    [v.extensionProfile, v.marker, v.payloadType, v.sequenceNumber, v.timestamp, v.ssrc, v.payloadLength],
    [0xbede, true, 111, 70000 - 65536, 5, 0xfedcba98, 3],
  );
  const w1 = RtpPacket.deSerialize(pkt1);
  assert.deepEqual(
    w1.header.extensions.map((e) => [e.id, e.payload.toString('hex')]),
    oneByte.map((e) => [e.id, e.value.toString('hex')]),
  );

  const twoByte = [
    { id: 1, value: Buffer.from('mid') },
    { id: 20, value: Buffer.alloc(0) },
    { id: 2, value: Buffer.alloc(17, 9) },
  ];
  const n2 = writeRtpHeader(
    out,
    4,
    { marker: false, payloadType: 96, sequenceNumber: 1, timestamp: 2, ssrc: 3, csrcs: [0xaabbccdd] },
    twoByte,
  );
  assert.equal(n2, 12 + 4 + 4 + 28); // 5 + 2 + 19 = 26, padded to 28
  const pkt2 = Buffer.from(out.subarray(4, 4 + n2));
  assert.equal(parseRtpHeader(pkt2, v), true);
  assert.equal(v.extensionProfile, 0x1000);
  assert.equal(v.csrcCount, 1);
  for (const e of twoByte) {
    const at = findHeaderExtension(pkt2, v, e.id);
    assert.ok(at > 0);
    assert.deepEqual(pkt2.subarray(at, at + v.extensionElementLength), e.value);
  }
  const w2 = RtpPacket.deSerialize(pkt2);
  assert.deepEqual(
    w2.header.extensions.map((e) => [e.id, e.payload.length]),
    [
      [1, 3],
      [20, 0],
      [2, 17],
    ],
  );
  assert.deepEqual(w2.header.csrc, [0xaabbccdd]);
  assert.throws(
    () => writeRtpHeader(Buffer.alloc(20), 0, { marker: false, payloadType: 0, sequenceNumber: 0, timestamp: 0, ssrc: 0 }, twoByte),
    RangeError,
  );
});

test('werift-serialized packets parse the same, one-byte and two-byte', () => {
  const v = new RtpHeaderView();
  for (const [profile, exts] of [
    [
      0xbede,
      [
        { id: 2, payload: Buffer.from([0x01, 0x02, 0x03]) },
        { id: 5, payload: Buffer.from('q') },
      ],
    ],
    [
      0x1000,
      [
        { id: 1, payload: Buffer.from('ab') },
        { id: 20, payload: Buffer.alloc(0) },
      ],
    ],
  ] as const) {
    const header = new RtpHeader({
      payloadType: 100,
      sequenceNumber: 4242,
      timestamp: 0x89abcdef,
      ssrc: 77,
      marker: true,
      extension: true,
      extensionProfile: profile,
      extensions: [...exts],
    });
    const buf = new RtpPacket(header, Buffer.from('payload!')).serialize();
    assert.equal(parseRtpHeader(buf, v), true);
    assert.deepEqual(
      [v.payloadType, v.sequenceNumber, v.timestamp, v.ssrc, v.marker, v.extensionProfile],
      [100, 4242, 0x89abcdef, 77, true, profile],
    );
    assert.equal(buf.subarray(v.headerLength, v.headerLength + v.payloadLength).toString(), 'payload!');
    for (const e of exts) {
      const at = findHeaderExtension(buf, v, e.id);
      assert.ok(at > 0, `id ${e.id}`);
      assert.deepEqual(buf.subarray(at, at + v.extensionElementLength), e.payload);
    }
  }
});

test('in-place setters touch only their field', () => {
  const buf = hex(`${FIXED} be de 00 01 10 61 00 00 99`);
  setSequenceNumber(buf, 65536 + 7);
  setTimestamp(buf, 2 ** 32 - 1);
  setSsrc(buf, 0x01020304);
  setPayloadType(buf, 0x7f);
  setMarker(buf, false);
  const v = new RtpHeaderView();
  assert.equal(parseRtpHeader(buf, v), true);
  assert.deepEqual(
    [v.sequenceNumber, v.timestamp, v.ssrc, v.payloadType, v.marker, v.extension],
    [7, 0xffffffff, 0x01020304, 0x7f, false, true],
  );
  setMarker(buf, true);
  setPayloadType(buf, 5);
  assert.equal(buf[1], 0x85);
});

test('mid / rid / repaired-rid identifiers', () => {
  const b = Buffer.alloc(20);
  assert.equal(writeSdesIdentifier(b, 1, 'hi-0_q'), 6);
  assert.equal(readSdesIdentifier(b, 1, 6), 'hi-0_q');
  assert.equal(readSdesIdentifier(hex('31 00 00'), 0, 3), '1', 'trailing NULs some senders add');
  assert.equal(readSdesIdentifier(hex('00'), 0, 1), null);
  assert.equal(readSdesIdentifier(hex('61 20 62'), 0, 3), null, 'a space is not an identifier byte');
  assert.equal(readSdesIdentifier(hex('61'), 0, 2), null, 'length past the buffer');
  assert.equal(sdesIdentifierEquals(b, 1, 6, Buffer.from('hi-0_q')), true);
  assert.equal(sdesIdentifierEquals(b, 1, 6, Buffer.from('hi-0_r')), false);
  assert.throws(() => writeSdesIdentifier(b, 0, 'é'), RangeError);
});

test('abs-send-time is 6.18 fixed point seconds, wrapping at 64 s', () => {
  const b = Buffer.alloc(3);
  assert.equal(absSendTimeFromMs(1500), 0x060000);
  assert.equal(absSendTimeFromMs(64_000 + 250), 0x010000);
  writeAbsSendTime(b, 0, absSendTimeFromMs(1500));
  assert.deepEqual(b, hex('06 00 00'));
  assert.equal(readAbsSendTime(b, 0, 3), 0x060000);
  assert.equal(absSendTimeToSeconds(0x060000), 1.5);
  assert.equal(readAbsSendTime(b, 0, 2), -1);
});

test('transport-wide sequence number and audio level (RFC 6464 §3)', () => {
  const b = Buffer.alloc(4);
  writeTransportSequence(b, 1, 65535 + 3);
  assert.equal(readTransportSequence(b, 1, 2), 2);
  assert.equal(readTransportSequence(b, 1, 1), -1);
  const level = new AudioLevel();
  writeAudioLevel(b, 0, true, 30);
  assert.equal(b[0], 0x9e);
  assert.equal(readAudioLevel(b, 0, 1, level), true);
  assert.deepEqual([level.voice, level.level], [true, 30]);
  writeAudioLevel(b, 0, false, 200);
  assert.equal(readAudioLevel(b, 0, 1, level), true);
  assert.deepEqual([level.voice, level.level], [false, 127]);
  assert.equal(readAudioLevel(b, 0, 0, level), false);
});

test('RTX wrap and unwrap (RFC 4588 §4), byte-equal to werift and in place', () => {
  const original = new RtpPacket(
    new RtpHeader({
      payloadType: 96,
      sequenceNumber: 1000,
      timestamp: 555,
      ssrc: 0x1111,
      marker: true,
      extension: true,
      extensionProfile: 0xbede,
      extensions: [{ id: 3, payload: Buffer.from([0, 9]) }],
    }),
    Buffer.from('frame data'),
  ).serialize();
  const v = new RtpHeaderView();
  assert.equal(parseRtpHeader(original, v), true);
  const out = Buffer.alloc(100);
  const n = wrapRtx(original, v, out, 0x2222, 97, 7);
  const rtx = out.subarray(0, n);
  assert.deepEqual(rtx, weriftWrapRtx(RtpPacket.deSerialize(original), 97, 7, 0x2222).serialize());
  assert.equal(parseRtpHeader(rtx, v), true);
  assert.deepEqual([v.ssrc, v.payloadType, v.sequenceNumber, v.timestamp, v.marker], [0x2222, 97, 7, 555, true]);
  const back = Buffer.alloc(100);
  const m = unwrapRtx(rtx, v, back, 0x1111, 96);
  assert.deepEqual(back.subarray(0, m), original);
  // werift's unwrap drops the header extension; the fields and payload must still agree.
  const theirs = weriftUnwrapRtx(RtpPacket.deSerialize(Buffer.from(rtx)), 96, 0x1111);
  assert.equal(parseRtpHeader(back.subarray(0, m), v), true);
  assert.deepEqual(
    [v.sequenceNumber, v.ssrc, v.payloadType, v.timestamp],
    [theirs.header.sequenceNumber, theirs.header.ssrc, theirs.header.payloadType, theirs.header.timestamp],
  );
  assert.deepEqual(back.subarray(v.headerLength, m), theirs.payload);
  // In place both ways: wrap needs 2 spare bytes after the packet.
  const room = Buffer.alloc(original.length + 2);
  original.copy(room);
  assert.equal(parseRtpHeader(room.subarray(0, original.length), v), true);
  const k = wrapRtx(room, v, room, 0x2222, 97, 7);
  assert.deepEqual(room.subarray(0, k), rtx);
  assert.equal(parseRtpHeader(room.subarray(0, k), v), true);
  assert.equal(unwrapRtx(room, v, room, 0x1111, 96), original.length);
  assert.deepEqual(room.subarray(0, original.length), original);
});

test('RTX: padding-only probes have no original packet; padding is not carried over', () => {
  const v = new RtpHeaderView();
  const probe = hex('a0 61 00 05 00 00 00 01 00 00 22 22 00 00 00 00 00 00 00 07');
  assert.equal(parseRtpHeader(probe, v), true);
  assert.equal(unwrapRtx(probe, v, Buffer.alloc(64), 0x1111, 96), -1);
  const padded = hex('a0 61 00 05 00 00 00 01 00 00 22 22 03 e8 aa bb 00 02');
  assert.equal(parseRtpHeader(padded, v), true);
  const out = Buffer.alloc(64);
  const n = unwrapRtx(padded, v, out, 0x1111, 96);
  assert.deepEqual(out.subarray(0, n), hex('80 60 03 e8 00 00 00 01 00 00 11 11 aa bb'));
  assert.equal(unwrapRtx(padded, v, Buffer.alloc(12), 0x1111, 96), -1, 'output too small');
});

test('VP8 descriptor (RFC 7741 §4.2): keyframes, PictureID widths, TL0PICIDX, TID', () => {
  const d = new Vp8Descriptor();
  // X=1 S=1 PID=0; I L T set; 15-bit PictureID 0x1234; TL0PICIDX 5; TID 2 Y=1; VP8 header P=0.
  const key = hex('90 e0 92 34 05 a0 10 02 00 9d 01 2a');
  assert.equal(parseVp8Descriptor(key, 0, key.length, d), true);
  assert.deepEqual([d.startOfPartition, d.partitionId, d.pictureId, d.pictureIdLength, d.pictureIdOffset], [true, 0, 0x1234, 2, 2]);
  assert.deepEqual(
    [d.tl0PicIdx, d.tl0PicIdxOffset, d.tid, d.layerSync, d.tidOffset, d.keyIdx, d.descriptorLength],
    [5, 4, 2, true, 5, -1, 6],
  );
  assert.equal(isVp8Keyframe(key), true);
  const w = Vp8RtpPayload.deSerialize(key);
  assert.deepEqual([w.pictureId, w.isKeyframe], [0x1234, true]);
  assert.equal(isVp8Keyframe(hex('90 e0 92 34 05 a0 11 02 00')), false, 'P=1: interframe');
  assert.equal(isVp8Keyframe(hex('80 e0 92 34 05 a0 10 02 00')), false, 'not the start of a partition');
  assert.equal(isVp8Keyframe(hex('91 e0 92 34 05 a0 10 02 00')), false, 'partition 1');
  assert.equal(isVp8Keyframe(hex('10 10 02 00')), true, 'no extension byte, 2-byte offset into a larger buffer');
  assert.equal(isVp8Keyframe(hex('ff ff 10 00'), 2, 2), true);
  assert.equal(isVp8Keyframe(hex('90 e0 92')), false, 'truncated');
  // 7-bit PictureID, K only.
  const short = hex('90 90 7f 1f 10');
  assert.equal(parseVp8Descriptor(short, 0, short.length, d), true);
  assert.deepEqual([d.pictureId, d.pictureIdLength, d.tid, d.keyIdx, d.descriptorLength], [0x7f, 1, -1, 31, 4]);
  writeVp8PictureId(short, 0, d, 0x85);
  assert.equal(short[2], 0x05, '7-bit PictureID keeps its width');
  assert.equal(parseVp8Descriptor(key, 0, key.length, d), true);
  writeVp8PictureId(key, 0, d, 0x7fff + 3);
  assert.deepEqual(key.subarray(2, 4), hex('80 02'));
});

test('sequence number arithmetic across the 65535 → 0 wrap', () => {
  assert.equal(isSeqNewer(0, 65535), true);
  assert.equal(isSeqNewer(65535, 0), false);
  assert.equal(isSeqNewer(5, 5), false);
  assert.equal(seqDelta(2, 65534), 4);
  assert.equal(seqDelta(65534, 2), -4);
  const u = new SeqUnwrapper();
  assert.deepEqual(
    [65534, 65535, 0, 65533, 1, 2].map((s) => u.unwrap(s)),
    [131070, 131071, 131072, 131069, 131073, 131074],
  );
});
