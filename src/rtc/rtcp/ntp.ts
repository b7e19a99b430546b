/**
 * NTP timestamps for RTCP sender reports (RFC 3550 §4): seconds since 1900 and a 32-bit
 * fraction, and the middle 32 bits that receiver reports echo back as LSR (§6.4.1).
 */

/** 2208988800 s between the NTP epoch (1900) and the Unix epoch (RFC 5905 §6). */
const NTP_UNIX_OFFSET = 2_208_988_800;

export interface NtpTime {
  sec: number;
  frac: number;
}

/** The NTP time of wall-clock `wallMs` (Date.now()), written into `out`. */
export function ntpTime(wallMs: number, out: NtpTime = { sec: 0, frac: 0 }): NtpTime {
  out.sec = (Math.floor(wallMs / 1000) + NTP_UNIX_OFFSET) >>> 0;
  out.frac = Math.floor(((wallMs % 1000) / 1000) * 0x100000000) >>> 0;
  return out;
}

/** The middle 32 bits of the NTP time of `wallMs`: units of 1/65536 s, as LSR and DLSR count. */
export function ntpMiddle32(wallMs: number): number {
  const sec = Math.floor(wallMs / 1000) + NTP_UNIX_OFFSET;
  const frac16 = Math.floor(((wallMs % 1000) / 1000) * 0x10000);
  return (((sec & 0xffff) << 16) | frac16) >>> 0;
}
