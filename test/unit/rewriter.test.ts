/**
 * RtpStreamRewriter: continuity of sequence numbers and timestamps across wraparound,
 * reordering, retransmission, deliberate drops and source switches, and NACK mapping back.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RtpHeaderView, parseRtpHeader, writeRtpHeader } from '../../src/rtc/rtp/index.js';
import { REORDER_WINDOW, RtpStreamRewriter } from '../../src/sfu/forward/rewriter.js';

const OUT_SSRC = 0xabcdef01;
const view = new RtpHeaderView();
const buf = Buffer.alloc(64);

interface Out {
  seq: number;
  ts: number;
  ssrc: number;
}

/** Builds a packet, runs it through the rewriter; the rewritten header, or null when refused. */
function send(rw: RtpStreamRewriter, seq: number, ts: number, nowMs: number, ssrc = 0x1111): Out | null {
  const n = writeRtpHeader(buf, 0, { marker: false, payloadType: 96, sequenceNumber: seq, timestamp: ts, ssrc }, []);
  const pkt = buf.subarray(0, n + 4);
  assert.equal(parseRtpHeader(pkt, view), true);
  if (!rw.rewrite(pkt, view, nowMs)) return null;
  assert.equal(parseRtpHeader(pkt, view), true);
  return { seq: view.sequenceNumber, ts: view.timestamp, ssrc: view.ssrc };
}

function drop(rw: RtpStreamRewriter, seq: number, ts: number, nowMs: number): void {
  const n = writeRtpHeader(buf, 0, { marker: false, payloadType: 96, sequenceNumber: seq, timestamp: ts, ssrc: 0x1111 }, []);
  assert.equal(parseRtpHeader(buf.subarray(0, n), view), true);
  rw.drop(view, nowMs);
}

test('first packet sets the base; SSRC rewritten; seq and timestamp cross 65535 → 0 and 2^32 → 0', () => {
  const rw = new RtpStreamRewriter({ ssrc: OUT_SSRC, clockRate: 90000, initialSeq: 65534, initialTimestamp: 2 ** 32 - 3000 });
  const outs = [500, 501, 502, 503].map((s, i) => send(rw, s, 1_000_000 + 3000 * i, 33 * i));
  assert.deepEqual(outs, [
    { seq: 65534, ts: 2 ** 32 - 3000, ssrc: OUT_SSRC },
    { seq: 65535, ts: 0, ssrc: OUT_SSRC },
    { seq: 0, ts: 3000, ssrc: OUT_SSRC },
    { seq: 1, ts: 6000, ssrc: OUT_SSRC },
  ]);
  assert.equal(rw.lastOutputSeq, 1);
  assert.equal(rw.lastOutputTimestamp, 6000);
});

test('input wraparound keeps the offset; without initial values the input numbering is kept', () => {
  const rw = new RtpStreamRewriter({ ssrc: OUT_SSRC, clockRate: 48000 });
  const seqs = [65533, 65534, 65535, 0, 1];
  assert.deepEqual(
    seqs.map((s, i) => send(rw, s, 2 ** 32 - 960 * 2 + 960 * i, 20 * i)?.seq),
    seqs,
  );
  assert.equal(send(rw, 2, 960 * 3, 100)?.ts, 960 * 3);
});

test('reordered and retransmitted packets map to the same output as before', () => {
  const rw = new RtpStreamRewriter({ ssrc: OUT_SSRC, clockRate: 90000, initialSeq: 100 });
  assert.equal(send(rw, 65534, 0, 0)?.seq, 100);
  assert.equal(send(rw, 1, 3000, 10)?.seq, 103, 'skipping 65535 and 0 (lost or late)');
  assert.equal(send(rw, 65535, 0, 11)?.seq, 101, 'late across the wrap');
  assert.equal(send(rw, 0, 3000, 12)?.seq, 102);
  assert.equal(send(rw, 65535, 0, 13)?.seq, 101, 'retransmission');
  assert.equal(rw.lastOutputSeq, 103);
  assert.equal(send(rw, 65533, 0, 14), null, 'older than the first packet of the source');
  assert.equal(rw.discarded, 1);
});

test('packets beyond the reorder window are discarded', () => {
  const rw = new RtpStreamRewriter({ ssrc: OUT_SSRC, clockRate: 90000 });
  for (let s = 0; s <= REORDER_WINDOW + 10; s += 5) assert.ok(send(rw, s, s, s));
  assert.equal(send(rw, 5, 5, 0), null);
  assert.ok(send(rw, 15, 15, 0));
});

test('a dropped packet leaves no hole; packets before it keep their numbers; its retransmission stays dropped', () => {
  const rw = new RtpStreamRewriter({ ssrc: OUT_SSRC, clockRate: 90000, initialSeq: 0 });
  assert.equal(send(rw, 1000, 0, 0)?.seq, 0);
  assert.equal(send(rw, 1001, 0, 0)?.seq, 1);
  drop(rw, 1003, 0, 0); // 1002 not here yet
  assert.equal(send(rw, 1004, 0, 0)?.seq, 3);
  assert.equal(send(rw, 1002, 0, 0)?.seq, 2, 'late packet before the drop keeps the old numbering');
  assert.equal(send(rw, 1003, 0, 0), null, 'the dropped packet again (e.g. retransmitted)');
  drop(rw, 1005, 0, 0);
  drop(rw, 1006, 0, 0);
  assert.equal(send(rw, 1007, 0, 0)?.seq, 4);
  assert.equal(send(rw, 1004, 0, 0)?.seq, 3, 'retransmission after later drops');
  assert.equal(rw.skipped, 3);
  drop(rw, 1002, 0, 0); // already forwarded: cannot be closed over
  assert.equal(send(rw, 1008, 0, 0)?.seq, 5);
});

test('drops across the seq wrap and drops folded out of the window keep numbering continuous', () => {
  const rw = new RtpStreamRewriter({ ssrc: OUT_SSRC, clockRate: 90000, initialSeq: 65535 });
  assert.equal(send(rw, 65534, 0, 0)?.seq, 65535);
  drop(rw, 65535, 0, 0);
  drop(rw, 0, 0, 0);
  assert.equal(send(rw, 1, 0, 0)?.seq, 0);
  let expected = 0;
  // Drop every third packet for well past the reorder window: outputs stay consecutive.
  for (let s = 2; s < 2 + 3 * REORDER_WINDOW; s++) {
    if (s % 3 === 0) {
      drop(rw, s & 0xffff, 0, 0);
      continue;
    }
    expected = (expected + 1) & 0xffff;
    assert.equal(send(rw, s & 0xffff, 0, 0)?.seq, expected, `input ${s}`);
  }
});

test('switchSource: next seq = last + 1, timestamp advances by the elapsed wall time (≥ 1 tick)', () => {
  const rw = new RtpStreamRewriter({ ssrc: OUT_SSRC, clockRate: 90000, initialSeq: 65534, initialTimestamp: 2 ** 32 - 1000 });
  assert.deepEqual(send(rw, 10, 50_000, 1000), { seq: 65534, ts: 2 ** 32 - 1000, ssrc: OUT_SSRC });
  assert.deepEqual(send(rw, 11, 53_000, 1033), { seq: 65535, ts: 2 ** 32 - 1000 + 3000 - 2 ** 32, ssrc: OUT_SSRC });
  rw.switchSource();
  // The new layer's numbers are unrelated; 40 ms later = 3600 ticks at 90 kHz.
  assert.deepEqual(send(rw, 40_000, 7_000_000, 1073, 0x2222), { seq: 0, ts: 2000 + 3600, ssrc: OUT_SSRC });
  assert.deepEqual(send(rw, 40_001, 7_003_000, 1100, 0x2222), { seq: 1, ts: 2000 + 3600 + 3000, ssrc: OUT_SSRC });
  assert.equal(send(rw, 39_999, 7_000_000, 1101, 0x2222), null, 'older than the switch point');
  rw.switchSource();
  assert.deepEqual(send(rw, 9, 1, 1100, 0x3333), { seq: 2, ts: 2000 + 3600 + 3000 + 1, ssrc: OUT_SSRC }, 'no time elapsed: still one tick');
});

test('switchSource after a drop at the head of the new source', () => {
  const rw = new RtpStreamRewriter({ ssrc: OUT_SSRC, clockRate: 90000, initialSeq: 10 });
  assert.equal(send(rw, 500, 0, 0)?.seq, 10);
  rw.switchSource();
  drop(rw, 7000, 90_000, 10);
  assert.equal(send(rw, 7001, 93_000, 20)?.seq, 11);
  assert.equal(rw.mapSeqBack(11), 7001);
  assert.equal(rw.mapSeqBack(10), undefined, 'from the previous source');
});

test('mapSeqBack inverts the mapping for the current source, across drops and the wrap', () => {
  const rw = new RtpStreamRewriter({ ssrc: OUT_SSRC, clockRate: 90000, initialSeq: 65530 });
  const forwarded = new Map<number, number>();
  for (let s = 65000; s < 65000 + 1200; s++) {
    const input = s & 0xffff;
    if (s % 7 === 0 || s % 11 === 0) {
      drop(rw, input, 0, 0);
      continue;
    }
    const out = send(rw, input, 0, 0);
    assert.ok(out);
    forwarded.set(out.seq, input);
  }
  assert.ok(forwarded.size > 900);
  for (const [out, input] of forwarded) assert.equal(rw.mapSeqBack(out), input, `output ${out}`);
  assert.equal(rw.mapSeqBack((rw.lastOutputSeq + 1) & 0xffff), undefined, 'not sent yet');
  assert.equal(rw.mapSeqBack((rw.lastOutputSeq - forwarded.size - 5) & 0xffff), undefined, 'before the first packet');
  assert.equal(new RtpStreamRewriter({ ssrc: 1, clockRate: 90000 }).mapSeqBack(0), undefined, 'nothing forwarded');
});
