/**
 * The one PCM format inside the MCU's audio path: mono, 48 kHz, 16-bit signed samples in an
 * Int16Array, 20 ms per frame. Opus decodes to 48 kHz natively and WebRTC senders use 20 ms
 * packets by default, so a decoded packet is one mixing frame with no resampling.
 */
export const SAMPLE_RATE = 48_000;
export const FRAME_MS = 20;
export const FRAME_SAMPLES = (SAMPLE_RATE * FRAME_MS) / 1000; // 960

/** Opus RTP timestamps always count at 48 kHz, whatever rate was encoded (RFC 7587 §4.1). */
export const OPUS_RTP_CLOCK_RATE = 48_000;
/** RTP timestamp ticks in one 20 ms frame. */
export const RTP_TICKS_PER_FRAME = (OPUS_RTP_CLOCK_RATE * FRAME_MS) / 1000; // 960

/** Largest 16-bit sample magnitude used as "full scale" (the symmetric range, ±32767). */
export const FULL_SCALE = 32_767;
