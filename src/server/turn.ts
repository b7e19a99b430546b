/**
 * The embedded STUN/TURN server, from the config: what `switchboard serve` runs next to
 * signaling and `switchboard turn` runs alone. Also the ICE servers a client is handed for
 * it, with fresh TURN REST credentials.
 */
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { IceServer } from '../protocol/index.js';
import { turnRestCredential } from '../turn/rest-credentials.js';
import { TurnServer } from '../turn/TurnServer.js';
import type { ServerConfig } from './config.js';

export async function startTurnServer(config: ServerConfig, secret: string | undefined, logger: Logger): Promise<TurnServer> {
  const cert = config.turnTlsCert ?? config.tlsCert;
  const key = config.turnTlsKey ?? config.tlsKey;
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
    maxAllocations: config.turnMaxAllocations,
    maxAllocationsPerUser: config.turnMaxAllocationsPerUser,
    maxBitrateKbps: config.turnMaxBitrateKbps,
    logger,
  });
  await turn.listen().catch((err: NodeJS.ErrnoException) => {
    const ports = cert && key ? `${config.turnPort} or ${config.turnTlsPort}` : String(config.turnPort);
    const where = err.code === 'EADDRINUSE' ? `TURN port ${ports} is in use` : `TURN server: ${err.message}`;
    throw new Error(`${where} (set --turn-port / --turn-tls-port, or --turn-enabled false)`);
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
