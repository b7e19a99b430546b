#!/usr/bin/env node
/**
 * `switchboard serve` — run the server; `switchboard token` — print an access token.
 */
import { parseArgs } from 'node:util';
import { createAccessToken, parseDuration } from '../signaling/auth.js';
import { startSwitchboard } from '../server/app.js';
import { ConfigError, FLAG_KEYS, loadConfig } from '../server/config.js';

const USAGE = `usage:
  switchboard serve [--config FILE] [--port N] [--host H] [--tls-cert F --tls-key F]
                    [--auth-secret S] [--log-level L] [--web-root DIR]
                    [--heartbeat-ms N] [--resume-grace-ms N] [--call-ring-ms N] [--max-room-participants N]
                    [--turn-secret S --turn-urls turn:HOST:3478,turns:HOST:5349] [--turn-credential-ttl SECONDS]
  switchboard token --room R --identity I [--ttl 1h] [--name N] [--secret S | env SWITCHBOARD_AUTH_SECRET]`;

function fail(message: string, code = 2): never {
  process.stderr.write(`switchboard: ${message}\n`);
  process.exit(code);
}

async function serve(args: string[]): Promise<void> {
  const options: Record<string, { type: 'string' }> = { config: { type: 'string' } };
  for (const flag of Object.keys(FLAG_KEYS)) options[flag] = { type: 'string' };
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({ args, options, strict: true, allowPositionals: false }) as { values: Record<string, string | undefined> });
  } catch (err) {
    fail(`${(err as Error).message}\n${USAGE}`);
  }
  let config;
  try {
    config = loadConfig({ file: values.config, env: process.env, flags: values });
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message, 1);
    throw err;
  }
  const sb = await startSwitchboard(config).catch((err: Error) => fail(`cannot start: ${err.message}`, 1));
  const lines = [`Switchboard listening on ${sb.url}`, `  web app:   ${sb.url}/?room=demo&name=You`, `  signaling: ${sb.wsUrl}`];
  if (!config.authSecret) {
    lines.push(
      '',
      '  *** OPEN MODE: no --auth-secret set — anyone who can reach this server can join any room. ***',
      '  *** Fine for development on localhost; set SWITCHBOARD_AUTH_SECRET (and TLS) in production. ***',
    );
  }
  process.stdout.write(lines.join('\n') + '\n');
  let closing = false;
  const shutdown = (): void => {
    if (closing) return;
    closing = true;
    sb.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

async function token(args: string[]): Promise<void> {
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({
      args,
      options: { room: { type: 'string' }, identity: { type: 'string' }, ttl: { type: 'string' }, name: { type: 'string' }, secret: { type: 'string' } },
      strict: true,
      allowPositionals: false,
    }) as { values: Record<string, string | undefined> });
  } catch (err) {
    fail(`${(err as Error).message}\n${USAGE}`);
  }
  const secret = values.secret ?? process.env.SWITCHBOARD_AUTH_SECRET;
  if (!secret) fail('token: --secret or SWITCHBOARD_AUTH_SECRET is required');
  if (!values.room) fail('token: --room is required (a room name, or "*" for any room)');
  if (!values.identity || !/^[A-Za-z0-9_.:@-]{1,64}$/.test(values.identity)) fail('token: --identity is required (letters, digits, _.:@-)');
  const ttlSeconds = parseDuration(values.ttl ?? '1h');
  if (!ttlSeconds) fail(`token: --ttl must look like 30s, 10m, 1h or 2d (got "${values.ttl}")`);
  const jwt = await createAccessToken({ secret, identity: values.identity, room: values.room, ttlSeconds, ...(values.name ? { name: values.name } : {}) });
  process.stdout.write(jwt + '\n');
}

const [command, ...rest] = process.argv.slice(2);
switch (command) {
  case 'serve': await serve(rest); break;
  case 'token': await token(rest); break;
  case undefined:
  case '-h':
  case '--help': process.stdout.write(USAGE + '\n'); break;
  default: fail(`unknown command "${command}"\n${USAGE}`);
}
