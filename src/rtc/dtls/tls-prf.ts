import { createHmac } from 'node:crypto';

/** RFC 5246 §5: PRF(secret, label, seed) = P_SHA256(secret, label + seed), cut to `length` bytes. */
export function prfSha256(secret: Buffer, label: string, seed: Buffer, length: number): Buffer {
  const labelSeed = Buffer.concat([Buffer.from(label, 'ascii'), seed]);
  const out = Buffer.alloc(length);
  let a = labelSeed; // A(0)
  let written = 0;
  while (written < length) {
    a = createHmac('sha256', secret).update(a).digest();
    const block = createHmac('sha256', secret).update(a).update(labelSeed).digest();
    written += block.copy(out, written);
  }
  return out;
}
