/** CRC-32 (ISO-HDLC, the one zlib uses), for FINGERPRINT (RFC 8489 §14.7). */
const TABLE = new Uint32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  TABLE[n] = c >>> 0;
}

/** `prev`: the CRC of what comes before, to continue over data in pieces without copying. */
export function crc32(buf: Uint8Array, start = 0, end = buf.length, prev = 0): number {
  let c = (prev ^ 0xffffffff) >>> 0;
  for (let i = start; i < end; i++) c = (TABLE[(c ^ (buf[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
