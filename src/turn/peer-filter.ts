/**
 * Which peer addresses a TURN allocation may relay to. A TURN server on the internet that
 * relays to its own loopback, its LAN or a cloud metadata service (169.254.169.254) is an
 * open door into the network it sits in (RFC 8656 §21.2.2; coturn's denied-peer-ip). By
 * default every special-purpose range (RFC 6890 registries) is refused; an operator opens
 * ranges on purpose with `--turn-allow-peer CIDR`.
 *
 * IPv6 forms that carry an IPv4 address (IPv4-mapped ::ffff:a.b.c.d, IPv4-translated
 * ::ffff:0:a.b.c.d of RFC 2765, NAT64 64:ff9b::/96, 6to4 2002::/16) are judged by the IPv4
 * address inside them as well, so ::ffff:127.0.0.1 is loopback. The deprecated
 * IPv4-compatible form ::a.b.c.d is refused outright.
 *
 * The server's own addresses (listening, relay, external, announced) get the verdict 'self':
 * a client must not reach the server's other services through its relay (RFC 8656 §21.2.2),
 * so the server lets it reach only its own relay ports there (relay to relay: two clients of
 * this server, both behind symmetric NATs) and the media port of the SFU it runs
 * (TurnServer.selfPortReachable). An allow-list range that covers one of them opens it whole.
 * Verdicts in order: the allow list, then 'self', then the refused ranges.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { ipv6ToBytes } from '../stun/address.js';
import { InternalErrorCode, SwitchboardError } from '../protocol/errors.js';

const DENIED_V4 = [
  '0.0.0.0/8', // "this network", 0.0.0.0 reaches the local host
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16', // private (RFC 1918)
  '100.64.0.0/10', // carrier-grade NAT (RFC 6598)
  '127.0.0.0/8', // loopback
  '169.254.0.0/16', // link-local, cloud metadata services
  '192.0.0.0/24',
  '192.0.2.0/24',
  '198.51.100.0/24',
  '203.0.113.0/24', // IETF assignments, documentation
  '192.88.99.0/24', // the deprecated 6to4 relay anycast (RFC 7526)
  '198.18.0.0/15', // benchmarking (RFC 2544)
  '224.0.0.0/4', // multicast
  '240.0.0.0/4', // reserved, and 255.255.255.255 broadcast
];
const DENIED_V6 = [
  '::/96', // unspecified, loopback and the deprecated IPv4-compatible form
  '64:ff9b:1::/48', // local-use NAT64 (RFC 8215)
  '100::/64', // discard-only (RFC 6666)
  '2001::/23', // IETF protocol assignments: ORCHID, benchmarking, …
  '2001:db8::/32', // documentation
  'fc00::/7', // unique local
  'fe80::/10',
  'fec0::/10', // link-local, old site-local
  'ff00::/8', // multicast
];

export type PeerVerdict = 'allowed' | 'refused' | 'invalid' | 'self';

function addCidr(list: BlockList, cidr: string): void {
  const [net, bits] = cidr.split('/') as [string, string | undefined];
  const v4 = isIPv4(net);
  if (!v4 && !isIPv6(net)) throw new SwitchboardError(InternalErrorCode.InvalidArgument, `not a CIDR: ${cidr}`);
  const max = v4 ? 32 : 128;
  const prefix = bits === undefined ? max : Number(bits);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || (bits !== undefined && !/^\d+$/.test(bits)))
    throw new SwitchboardError(InternalErrorCode.InvalidArgument, `not a CIDR: ${cidr}`);
  list.addSubnet(net, prefix, v4 ? 'ipv4' : 'ipv6');
}

/** The IPv4 address inside an IPv6 address that embeds one, else undefined. */
function embeddedIpv4(v6: string): string | undefined {
  const b = ipv6ToBytes(v6);
  if (!b) return undefined;
  const zero = (from: number, to: number): boolean => b.subarray(from, to).every((x) => x === 0);
  const dotted = (at: number): string => `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
  if (zero(0, 10) && b[10] === 0xff && b[11] === 0xff) return dotted(12); // ::ffff:a.b.c.d
  if (zero(0, 8) && b[8] === 0xff && b[9] === 0xff && zero(10, 12)) return dotted(12); // ::ffff:0:a.b.c.d (RFC 2765)
  if (b.readUInt32BE(0) === 0x0064ff9b && zero(4, 12)) return dotted(12); // 64:ff9b::a.b.c.d
  if (b.readUInt16BE(0) === 0x2002) return dotted(2); // 2002:AABB:CCDD::
  return undefined;
}

/** Checks that `cidr` parses (for config validation); throws with the reason. */
export function checkCidr(cidr: string): void {
  addCidr(new BlockList(), cidr);
}

export class PeerAddressFilter {
  private readonly denied = new BlockList();
  private readonly allowed = new BlockList();
  private readonly own = new BlockList();

  constructor(allow: readonly string[] = []) {
    for (const c of DENIED_V4) addCidr(this.denied, c);
    for (const c of DENIED_V6) addCidr(this.denied, c);
    for (const c of allow) addCidr(this.allowed, c);
  }

  /** Marks these exact addresses as the server's own (verdict 'self' unless the allow list covers them). */
  addOwnAddresses(addresses: Iterable<string>): void {
    for (const a of addresses) {
      const v4 = isIPv4(a);
      if (v4 || isIPv6(a)) this.own.addAddress(a, v4 ? 'ipv4' : 'ipv6');
    }
  }

  check(address: string): PeerVerdict {
    if (isIPv4(address)) return this.judge(address, 'ipv4');
    if (!isIPv6(address)) return 'invalid';
    const outer = this.judge(address, 'ipv6');
    if (outer !== 'allowed') return outer;
    const inner = embeddedIpv4(address);
    return inner === undefined ? 'allowed' : this.judge(inner, 'ipv4');
  }

  private judge(address: string, type: 'ipv4' | 'ipv6'): PeerVerdict {
    if (this.allowed.check(address, type)) return 'allowed';
    if (this.own.check(address, type)) return 'self';
    return this.denied.check(address, type) ? 'refused' : 'allowed';
  }
}
