/**
 * The loudness of one decoded frame, for active-speaker detection in the mixer, on the same
 * scale as the client-to-mixer audio level header extension (RFC 6464 §3): dBov, where 0 is
 * the RMS of a full-scale square wave, clamped to [−127, 0] with −127 for digital silence.
 */

/** RMS of a full-scale square wave: the 0 dBov reference. 32768 so that ±16384 is exactly −6.02. */
const REFERENCE = 32_768;
export const MIN_DBOV = -127;

/** RMS level of `pcm` in dBov, in [−127, 0] (not rounded: RFC 6464 carries −round(level)). */
export function frameLevelDbov(pcm: Int16Array): number {
  const n = pcm.length;
  if (n === 0) return MIN_DBOV;
  let sumSquares = 0;
  // A float64 sum of squares is exact up to 2^53 / 2^30 ≈ 8 million samples: far beyond a frame.
  for (let i = 0; i < n; i++) {
    const s = pcm[i] as number;
    sumSquares += s * s;
  }
  if (sumSquares === 0) return MIN_DBOV;
  const db = 10 * Math.log10(sumSquares / n / (REFERENCE * REFERENCE));
  return db < MIN_DBOV ? MIN_DBOV : db > 0 ? 0 : db;
}
