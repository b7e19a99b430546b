/**
 * Host candidates of the shared port (RFC 8445 §5.1.1.1) and their priorities (§5.1.2.1):
 *   priority = 2^24 × type preference + 2^8 × local preference + (256 − component ID).
 * UDP host candidates use the recommended type preference 126. TCP ones use 90 (as
 * libwebrtc does), so that UDP wins whenever both work. Local preference follows RFC 6724's
 * default precedence (§2.1: ::1 > IPv6 > IPv4 > 6to4 > Teredo > ULA), then listing order;
 * for TCP it is 2^13 × direction-pref + other-pref with direction-pref 4 for passive host
 * candidates (RFC 6544 §4.2).
 */
import { isIPv4 } from 'node:net';
import type { LocalCandidate } from '../sdp/types.js';

/** What goes into an `a=candidate` line of our SDP. */
export type IceCandidate = LocalCandidate;

const UDP_HOST_TYPE_PREFERENCE = 126;
const TCP_HOST_TYPE_PREFERENCE = 90;
const TCP_PASSIVE_DIRECTION_PREF = 4;
/** One component (RTP and RTCP are multiplexed, RFC 8843 bundle + RFC 5761). */
const COMPONENT = 1;

/** RFC 6724 §2.1 default policy table precedence for an address. */
export function addressPrecedence(ip: string): number {
  if (isIPv4(ip)) return 35;
  const a = ip.toLowerCase();
  if (a === '::1') return 50;
  if (a.startsWith('2002:')) return 30;
  if (a.startsWith('2001:0:') || a.startsWith('2001::')) return 5;
  if (/^f[cd]/.test(a)) return 3;
  return 40;
}

export function candidatePriority(typePreference: number, localPreference: number): number {
  return typePreference * 2 ** 24 + localPreference * 2 ** 8 + (256 - COMPONENT);
}

/** Candidates for each address in order; `index` breaks ties between equal precedences. */
export function hostCandidates(addresses: readonly string[], udpPort: number, tcpPort: number | null): IceCandidate[] {
  const out: IceCandidate[] = [];
  addresses.forEach((ip, index) => {
    const precedence = addressPrecedence(ip);
    const rank = Math.max(0, 99 - index);
    // §5.1.1.3: one foundation per (type, base address, transport).
    out.push({
      foundation: String(index * 2 + 1),
      component: COMPONENT,
      transport: 'udp',
      priority: candidatePriority(UDP_HOST_TYPE_PREFERENCE, precedence * 1000 + rank),
      ip,
      port: udpPort,
      type: 'host',
    });
    if (tcpPort !== null) {
      out.push({
        foundation: String(index * 2 + 2),
        component: COMPONENT,
        transport: 'tcp',
        priority: candidatePriority(TCP_HOST_TYPE_PREFERENCE, TCP_PASSIVE_DIRECTION_PREF * 2 ** 13 + precedence * 100 + rank),
        ip,
        port: tcpPort,
        type: 'host',
        tcptype: 'passive',
      });
    }
  });
  return out;
}
