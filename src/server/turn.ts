/**
 * The embedded STUN/TURN server, from the config: what `switchboard serve` runs next to
 * signaling and `switchboard turn` runs alone. Also the ICE servers a client is handed for
 * it, with fresh TURN REST credentials.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import type { IceServer } from '../protocol/index.js';
import { turnRestCredential } from '../turn/rest-credentials.js';
import { TurnServer } from '../turn/TurnServer.js';
import { InternalErrorCode, SwitchboardError } from '../protocol/errors.js';
import type { ServerConfig } from './config.js';

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
export function turnQuotaDefaults(config: Pick<ServerConfig, 'maxMeshParticipants' | 'turnMaxAllocationsPerUser' | 'turnMaxAllocationsPerIp'>, tls: boolean): { perIdentity: number; perIp: number } {
  const perIdentity = config.turnMaxAllocationsPerUser ?? 2 * (config.maxMeshParticipants - 1) * ownTurnUrlCount(tls);
  return { perIdentity, perIp: config.turnMaxAllocationsPerIp ?? 3 * perIdentity };
}

export async function startTurnServer(config: ServerConfig, secret: string | undefined, logger: Logger): Promise<TurnServer> {
  const cert = config.turnTlsCert ?? config.tlsCert;
  const key = config.turnTlsKey ?? config.tlsKey;
  const quota = turnQuotaDefaults(config, Boolean(cert && key));
  // The server's own public addresses, refused as peers (peer-filter.ts) like its listening ones.
  const selfAddresses = [...config.announcedIps, ...(config.turnPublicHost && isIP(config.turnPublicHost) ? [config.turnPublicHost] : [])];
  const turn = new TurnServer({
    // A wildcard HTTP host means "everywhere": TURN then serves every address of both families.
    host: config.turnHost ?? (config.host === '0.0.0.0' ? '::' : config.host),
    port: config.turnPort,
    ...(cert && key ? { tls: { cert: readFileSync(cert), key: readFileSync(key), port: config.turnTlsPort } } : {}),
    ...(config.turnRelayIp ? { relayIp: config.turnRelayIp } : {}),
    ...(config.turnExternalIp ? { externalIp: config.turnExternalIp } : {}),
    realm: config.turnRealm,
    users: config.turnUsers,
    ...(secret ? { secret } : {}),
    allowPeers: config.turnAllowPeers,
    selfAddresses,
    maxAllocations: config.turnMaxAllocations,
    maxAllocationsPerUser: quota.perIdentity,
    maxAllocationsPerIp: quota.perIp,
    maxBitrateKbps: config.turnMaxBitrateKbps,
    logger,
  });
  await turn.listen().catch((err: NodeJS.ErrnoException) => {
    const ports = cert && key ? `${config.turnPort} or ${config.turnTlsPort}` : String(config.turnPort);
    const where = err.code === 'EADDRINUSE' ? `TURN port ${ports} is in use` : `TURN server: ${err.message}`;
    throw new SwitchboardError(InternalErrorCode.Unavailable, `${where} (set --turn-port / --turn-tls-port, or --turn-enabled false)`);
  });
  return turn;
}

/** "example.org" / "198.18.0.1" / "[::1]" → STUN and TURN URLs on our ports (RFC 7064, RFC 7065). */
export function turnUrlsFor(host: string, turn: TurnServer): { stun: string; turn: string[] } {
  const urls = [`turn:${host}:${turn.port}?transport=udp`, `turn:${host}:${turn.port}?transport=tcp`];
  if (turn.tlsPort) urls.push(`turns:${host}:${turn.tlsPort}?transport=tcp`);
  return { stun: `stun:${host}:${turn.port}`, turn: urls };
}

/**
 * ICE servers for one client: the configured static ones, then either our own STUN/TURN on
 * the host the client reached us by, or the external `turnUrls`, with a REST credential.
 */
export function iceServersFor(config: ServerConfig, secret: string | undefined, turn: TurnServer | undefined, identity: string, host: string | undefined): IceServer[] {
  const out = [...config.iceServers];
  if (!secret) return out;
  const { username, credential } = turnRestCredential(secret, identity, config.turnCredentialTtlSeconds);
  if (config.turnUrls.length > 0) {
    out.push({ urls: config.turnUrls, username, credential });
  } else if (turn) {
    const own = turnUrlsFor(config.turnPublicHost ?? host ?? turn.addresses[0] ?? 'localhost', turn);
    out.push({ urls: [own.stun] }, { urls: own.turn, username, credential });
  }
  return out;
}
