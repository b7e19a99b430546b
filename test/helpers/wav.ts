/**
 * WAV files for Chromium's `--use-file-for-fake-audio-capture` (16-bit PCM, mono): a voice-like
 * signal (a 150 Hz fundamental with harmonics, its loudness rising and falling three times a
 * second like syllables, so audio processing treats it as speech rather than steady noise),
 * and digital silence.
 */
import { writeFileSync } from 'node:fs';

const RATE = 48_000;

function wav(samples: Int16Array): Buffer {
  const data = Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'latin1');
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVE', 8, 'latin1');
  h.write('fmt ', 12, 'latin1');
  h.writeUInt32LE(16, 16); // PCM fmt chunk size
  h.writeUInt16LE(1, 20); // PCM
  h.writeUInt16LE(1, 22); // mono
  h.writeUInt32LE(RATE, 24);
  h.writeUInt32LE(RATE * 2, 28); // byte rate
  h.writeUInt16LE(2, 32); // block align
  h.writeUInt16LE(16, 34); // bits per sample
  h.write('data', 36, 'latin1');
  h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
}

/** `seconds` of the voice-like signal peaking at `peak` (0–1 of full scale). */
export function writeVoiceWav(path: string, seconds = 10, peak = 0.5): void {
  const n = Math.round(seconds * RATE);
  const s = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    const t = i / RATE;
    const envelope = 0.35 + 0.65 * Math.abs(Math.sin(Math.PI * 3 * t));
    let v = 0;
    for (let k = 1; k <= 6; k++) v += Math.sin(2 * Math.PI * 150 * k * t + k) / k;
    s[i] = Math.round(Math.max(-1, Math.min(1, (peak * envelope * v) / 2.45)) * 32767);
  }
  writeFileSync(path, wav(s));
}

export function writeSilentWav(path: string, seconds = 2): void {
  writeFileSync(path, wav(new Int16Array(Math.round(seconds * RATE))));
}
