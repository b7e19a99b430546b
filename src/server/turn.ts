/**
 * The embedded STUN/TURN server, from the config: what `switchboard serve` runs next to
 * signaling and `switchboard turn` runs alone. Also the ICE servers a client is handed for
 * it, with fresh TURN REST credentials.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import type { IceServer } from '../protocol/index.js';
import { SwitchboardError } from '../protocol/errors.js';
import { turnRestCredential } from '../turn/rest-credentials.js';
import type { PortRange } from '../turn/allocations/port-range.js';
import { TurnServer, type TurnServerOptions } from '../turn/TurnServer.js';
import type { SwitchboardConfig } from './config.js';

/** How many TURN URLs of our own server a client is handed (turnUrlsFor): UDP and TCP, and TLS with a certificate. */
export function ownTurnUrlCount(tls: boolean): number {
  return tls ? 3 : 2;
}

/**
 * The default TURN quotas. A page in a mesh room of n has n − 1 peer connections, and each
 * gathers one relay candidate — one allocation — per TURN URL it was given, so a full mesh
 * room over relay needs (maxMeshParticipants − 1) × URLs allocations per page. Doubled, for a
 * reload or ICE restart whose new allocations arrive while the old ones still live (a
 * browser does not always release them; they expire after their lifetime). Per client IP
 * three times that: a few such pages behind one NAT, while one host that mints identities
 * (open mode gives every hello a new one) still cannot fill the server's total.
 * Defaults (8 participants, 3 URLs): 42 per identity, 126 per IP.
 */
export function turnQuotaDefaults(
  turn: Pick<SwitchboardConfig['turn'], 'maxAllocationsPerUser' | 'maxAllocationsPerIp'>,
  maxMeshParticipants: number,
  tls: boolean,
): { perIdentity: number; perIp: number } {
  const perIdentity = turn.maxAllocationsPerUser ?? 2 * (maxMeshParticipants - 1) * ownTurnUrlCount(tls);
  return { perIdentity, perIp: turn.maxAllocationsPerIp ?? 3 * perIdentity };
}

/**
 * The `turn` section whole, and what it borrows from others: the HTTP host and certificate as
 * fallbacks, the SFU's announced addresses (refused as peers), the mesh size (for the quotas).
 */
export type TurnServerConfig = Pick<SwitchboardConfig, 'turn' | 'server' | 'tls' | 'rtc' | 'signaling'>;

/** TurnServer options from the config, as plain data (a TURN worker process gets them over IPC). */
export type TurnServerSettings = Omit<TurnServerOptions, 'logger'> & { relayPorts: PortRange };

export function turnServerSettings(config: TurnServerConfig, secret: string | undefined): TurnServerSettings {
  const { turn: t } = config;
  const cert = t.tlsCert ?? config.tls.cert;
  const key = t.tlsKey ?? config.tls.key;
  const quota = turnQuotaDefaults(t, config.signaling.maxMeshParticipants, Boolean(cert && key));
  // The server's own public addresses, refused as peers (peer-filter.ts) like its listening ones.
  const selfAddresses = [...config.rtc.announcedIps, ...(t.publicHost && isIP(t.publicHost) ? [t.publicHost] : [])];
  return {
    // A wildcard HTTP host means "everywhere": TURN then serves every address of both families.
    host: t.host ?? (config.server.host === '0.0.0.0' ? '::' : config.server.host),
    port: t.port,
    ...(cert && key ? { tls: { cert: readFileSync(cert), key: readFileSync(key), port: t.tlsPort } } : {}),
    ...(t.relayIp ? { relayIp: t.relayIp } : {}),
    ...(t.externalIp ? { externalIp: t.externalIp } : {}),
    realm: t.realm,
    users: t.users,
    ...(secret ? { secret } : {}),
    allowPeers: t.allowPeers,
    selfAddresses,
    relayPorts: { min: t.relayPortMin, max: t.relayPortMax },
    maxAllocations: t.maxAllocations,
    maxAllocationsPerUser: quota.perIdentity,
    maxAllocationsPerIp: quota.perIp,
    maxBitrateKbps: t.maxBitrateKbps,
  };
}

/** The STUN/TURN server in this process (turnWorkers 0, or `switchboard turn --turn-workers 0`). */
export async function startTurnServer(config: TurnServerConfig, secret: string | undefined, logger: Logger): Promise<TurnServer> {
  const settings = turnServerSettings(config, secret);
  const turn = new TurnServer({ ...settings, logger });
  await turn.listen().catch((err: NodeJS.ErrnoException) => {
    const ports = settings.tls ? `${settings.port} or ${settings.tls.port}` : String(settings.port);
    const where = err.code === 'EADDRINUSE' ? `TURN port ${ports} is in use` : `TURN server: ${err.message}`;
    throw new SwitchboardError('unavailable', `${where} (set --turn-port / --turn-tls-port, or --turn-enabled false)`);
  });
  return turn;
}

/** Where a client reaches one TURN server (the in-process one, or one TURN worker). */
export interface TurnEndpoint {
  port: number;
  /** 0 without TLS. */
  tlsPort: number;
  addresses: readonly string[];
}

/** The TURN server a client is handed: `identity` picks one when there are several (turn-pool.ts). */
export type TurnEndpointFor = (identity: string) => TurnEndpoint | undefined;

/** "example.org" / "198.18.0.1" / "[::1]" → STUN and TURN URLs on our ports (RFC 7064, RFC 7065). */
export function turnUrlsFor(host: string, turn: TurnEndpoint): { stun: string; turn: string[] } {
  const urls = [`turn:${host}:${turn.port}?transport=udp`, `turn:${host}:${turn.port}?transport=tcp`];
  if (turn.tlsPort) urls.push(`turns:${host}:${turn.tlsPort}?transport=tcp`);
  return { stun: `stun:${host}:${turn.port}`, turn: urls };
}

/**
 * ICE servers for one client: the configured static ones, then either our own STUN/TURN on
 * the host the client reached us by (of the TURN worker `turnFor` picks for its identity), or
 * the external `turnUrls`, with a REST credential.
 */
export function iceServersFor(
  config: Pick<SwitchboardConfig, 'ice' | 'turn'>,
  secret: string | undefined,
  turnFor: TurnEndpointFor | undefined,
  identity: string,
  host: string | undefined,
): IceServer[] {
  const out = [...config.ice.servers];
  if (!secret) return out;
  const { username, credential } = turnRestCredential(secret, identity, config.turn.credentialTtlSeconds);
  if (config.turn.urls.length > 0) {
    out.push({ urls: config.turn.urls, username, credential });
  } else if (turnFor) {
    const turn = turnFor(identity);
    if (!turn) return out;
    const own = turnUrlsFor(config.turn.publicHost ?? host ?? turn.addresses[0] ?? 'localhost', turn);
    out.push({ urls: [own.stun] }, { urls: own.turn, username, credential });
  }
  return out;
}
