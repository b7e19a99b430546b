/**
 * A SIMULATION of a bottleneck link, for estimator unit tests: a deterministic stand-in for a
 * real network (the netlab e2e test and the recorded fixture cover the real thing). A sender
 * paces 1200-byte packets at the estimator's current estimate through a drop-tail FIFO served
 * at `linkBps(t)` with a byte buffer, plus a one-way propagation delay; optional random loss
 * (seeded) on top. The receiver side turns arrivals into transport-cc feedback every 50 ms
 * with the real writer (`writeTwccFeedback`), which the estimator gets back through the real
 * compound parser after the return-path delay — the same bytes a browser would send.
 */
import { type BandwidthEstimator } from '../../src/sfu/bwe/BandwidthEstimator.js';
import { parseRtcpCompound, writeTwccFeedback, type TwccArrival } from '../../src/rtc/rtcp/index.js';
import { mulberry32 } from './random.js';

export interface BottleneckLinkOptions {
  durationMs: number;
  /** Link service rate at simulated time t (ms). */
  linkBps: (tMs: number) => number;
  /** Drop-tail queue size in bytes (default 60 000). */
  bufferBytes?: number;
  /** One-way delay each way, ms (default 25). */
  propagationMs?: number;
  /** Random loss probability at time t, on top of queue drops (default none). */
  lossRate?: (tMs: number) => number;
  seed?: number;
  packetBytes?: number;
  feedbackIntervalMs?: number;
  sampleEveryMs?: number;
  /** A receiver clock far from ours: only differences may matter. */
  receiverClockOffsetUs?: number;
}

export interface BottleneckSample {
  tMs: number;
  estimateBps: number;
  linkBps: number;
}

export interface BottleneckResult {
  samples: BottleneckSample[];
  sent: number;
  queueDrops: number;
  randomDrops: number;
  feedbacks: number;
}

interface PendingFeedback {
  atMs: number;
  bytes: Buffer;
}

export function runBottleneckLink(estimator: BandwidthEstimator, o: BottleneckLinkOptions): BottleneckResult {
  const bufferBytes = o.bufferBytes ?? 60_000;
  const propagationMs = o.propagationMs ?? 25;
  const packetBytes = o.packetBytes ?? 1200;
  const feedbackIntervalMs = o.feedbackIntervalMs ?? 50;
  const sampleEveryMs = o.sampleEveryMs ?? 100;
  const offsetUs = o.receiverClockOffsetUs ?? 987_654_321;
  const random = mulberry32(o.seed ?? 1);
  const stepMs = 1;
  let linkFreeAtMs = 0; // when the link finishes serving what is queued
  let nextSendMs = 0;
  let nextFeedbackMs = feedbackIntervalMs;
  let nextSampleMs = 0;
  let fbCount = 0;
  /** Arrivals at the receiver not yet reported, kept sorted by time of arrival (FIFO: also by seq). */
  const inFlight: { seq: number; arriveMs: number }[] = [];
  let arrived: TwccArrival[] = [];
  /** The last arrival of the previous feedback opens the next one, so gaps between feedbacks are reported as lost. */
  let lastReported: TwccArrival | null = null;
  const feedbacks: PendingFeedback[] = [];
  const out = Buffer.alloc(4096);
  const result: BottleneckResult = { samples: [], sent: 0, queueDrops: 0, randomDrops: 0, feedbacks: 0 };

  for (let t = 0; t <= o.durationMs; t += stepMs) {
    // Sender: paced at the current estimate.
    while (nextSendMs <= t) {
      const seq = estimator.onPacketSent(packetBytes, nextSendMs);
      result.sent++;
      const rate = o.linkBps(nextSendMs);
      const backlogBytes = (Math.max(0, linkFreeAtMs - nextSendMs) * rate) / 8000;
      if (backlogBytes + packetBytes > bufferBytes) {
        result.queueDrops++;
      } else {
        linkFreeAtMs = Math.max(linkFreeAtMs, nextSendMs) + (packetBytes * 8000) / rate;
        if (random() < (o.lossRate?.(nextSendMs) ?? 0)) result.randomDrops++;
        else inFlight.push({ seq, arriveMs: linkFreeAtMs + propagationMs });
      }
      nextSendMs += (packetBytes * 8000) / estimator.estimateBps;
    }
    while (inFlight.length > 0 && (inFlight[0] as { arriveMs: number }).arriveMs <= t) {
      const p = inFlight.shift() as { seq: number; arriveMs: number };
      arrived.push({ seq: p.seq, arrivalUs: Math.round(p.arriveMs * 1000) + offsetUs });
    }
    // Receiver: one feedback per interval when something arrived.
    if (t >= nextFeedbackMs) {
      nextFeedbackMs += feedbackIntervalMs;
      if (arrived.length > 0) {
        const arrivals = lastReported ? [lastReported, ...arrived] : arrived;
        const len = writeTwccFeedback(out, 0, { senderSsrc: 1, mediaSsrc: 2, fbPktCount: fbCount++ & 0xff, arrivals });
        feedbacks.push({ atMs: t + propagationMs, bytes: Buffer.from(out.subarray(0, len)) });
        lastReported = arrived[arrived.length - 1] as TwccArrival;
        arrived = [];
      }
    }
    while (feedbacks.length > 0 && (feedbacks[0] as PendingFeedback).atMs <= t) {
      const fb = feedbacks.shift() as PendingFeedback;
      const packets = parseRtcpCompound(fb.bytes);
      if (!packets) throw new Error('the simulation wrote a feedback its parser refuses');
      for (const p of packets) if (p.type === 'twcc') estimator.onTransportFeedback(p, t);
      result.feedbacks++;
    }
    if (t >= nextSampleMs) {
      nextSampleMs += sampleEveryMs;
      result.samples.push({ tMs: t, estimateBps: estimator.estimateBps, linkBps: o.linkBps(t) });
    }
  }
  return result;
}

/** Samples with tMs in [fromMs, toMs). */
export function between(samples: readonly BottleneckSample[], fromMs: number, toMs: number): BottleneckSample[] {
  return samples.filter((s) => s.tMs >= fromMs && s.tMs < toMs);
}
