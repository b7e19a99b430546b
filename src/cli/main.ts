#!/usr/bin/env node
/**
 * `switchboard serve` — run the server; `switchboard turn` — only its STUN/TURN server;
 * `switchboard token` — print an access token; `switchboard loadtest` — load an SFU with
 * headless peers (bench/loadtest; its peer libraries are loaded only by that command);
 * `switchboard config --markdown` — the README's configuration table. The `serve` options and
 * their usage lines come from the config schema (src/server/config/schema.ts).
 */
import { parseArgs } from 'node:util';
import { createAccessToken, parseDuration } from '../signaling/auth.js';
import { startSwitchboard } from '../server/app.js';
import { pino } from 'pino';
import { configFlagOptions, configMarkdown, configSections, loadConfig, optionsUsage, type ServerConfig } from '../server/config.js';
import { SwitchboardError } from '../protocol/errors.js';
import { startTurnService, type TurnService } from '../server/turn-service.js';
import { entryFaults } from '../util/guarded.js';
import { LOADTEST_USAGE, UsageError, parseLoadtestArgs } from '../../bench/loadtest/options.js';

const USAGE = `usage:
  switchboard serve [--config FILE] [OPTIONS]: every option by section (also as YAML keys and env: README, "Running it")
${optionsUsage('    ')}
  switchboard turn  [--config FILE] [--host H] [--log-level L] and the turn options above:
                    the STUN/TURN server alone (needs --turn-secret or --turn-user)
  switchboard token --room R --identity I [--ttl 1h] [--name N] [--secret S | env SWITCHBOARD_AUTH_SECRET]
  switchboard config --markdown: the configuration table (README.md, "Running it")
${LOADTEST_USAGE.replace(/^usage:\n/, '')}`;

function fail(message: string, code = 2): never {
  process.stderr.write(`switchboard: ${message}\n`);
  process.exit(code);
}

/** Flags → validated config (defaults < file < env < flags); exits with the reason on a bad one. */
function configFromArgs(args: string[]): ServerConfig {
  const options = { config: { type: 'string' as const }, ...configFlagOptions() };
  let values: Record<string, string | string[] | undefined>;
  try {
    ({ values } = parseArgs({ args, options, strict: true, allowPositionals: false }) as {
      values: Record<string, string | string[] | undefined>;
    });
  } catch (err) {
    fail(`${(err as Error).message}\n${USAGE}`);
  }
  try {
    return loadConfig({ file: values.config as string | undefined, env: process.env, flags: values });
  } catch (err) {
    if (err instanceof SwitchboardError && err.code === 'invalid-config') fail(err.message, 1);
    throw err;
  }
}

/**
 * SIGINT (Ctrl-C) closes at once. SIGTERM, with `drain`, first drains: no new participants,
 * exit when the rooms are empty or after the drain timeout; a second SIGTERM closes at once.
 */
function onSignal(close: () => Promise<void>, drain?: () => Promise<unknown>): void {
  let closing = false;
  let draining = false;
  const shutdown = (): void => {
    if (closing) return;
    closing = true;
    close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', () => {
    if (!drain || draining) return shutdown();
    draining = true;
    drain().then(shutdown, shutdown);
  });
}

/**
 * The last line of defence, for the server commands only: every entry point of ours is guarded
 * (src/util/guarded.ts), but a library's own timer or promise could still throw. Counted as a
 * fault (switchboard_entry_faults_total{where="process…"}) and logged once per cause instead of
 * ending every call on the machine; the live fuzz test requires this count to stay 0.
 */
function installProcessBackstop(): void {
  process.on('uncaughtException', (err) => entryFaults.record('process.uncaught-exception', err));
  process.on('unhandledRejection', (err) => entryFaults.record('process.unhandled-rejection', err));
}

async function serve(args: string[]): Promise<void> {
  const config = configFromArgs(args);
  installProcessBackstop();
  const sb = await startSwitchboard(config).catch((err: Error) => fail(`cannot start: ${err.message}`, 1));
  const lines = [`Switchboard listening on ${sb.url}`, `  web app:   ${sb.url}/?room=demo&name=You`, `  signaling: ${sb.wsUrl}`];
  if (sb.turnService) lines.push(...turnBanner(sb.turnService).map((l) => `  ${l}`));
  if (sb.rtc) lines.push(`  RTC media: udp${sb.rtc.port.tcpPort ? ' and tcp' : ''} port ${sb.rtc.port.udpPort}`);
  if (sb.media) {
    const ports = sb.media.status().map((w) => w.port);
    const contiguous = ports.every((p, i) => p === ports[0]! + i);
    lines.push(
      `  RTC media: udp and tcp port ${ports[0]}`,
      `  media workers: ${sb.config.rtc.workers} SFU + ${sb.config.rtc.mcuWorkers} MCU on RTC ports ` +
        (contiguous ? `${ports[0]}-${ports[ports.length - 1]}` : ports.join(', ')),
    );
  }
  if (!config.authSecret) {
    lines.push(
      '',
      '  *** OPEN MODE: no --auth-secret set — anyone who can reach this server can join any room. ***',
      '  *** Fine for development on localhost; set SWITCHBOARD_AUTH_SECRET (and TLS) in production. ***',
    );
  }
  process.stdout.write(lines.join('\n') + '\n');
  onSignal(
    () => sb.close(),
    () => sb.drain(),
  );
}

/** One line per TURN server (in this process, or each TURN worker with its relay slice). */
function turnBanner(t: TurnService): string[] {
  const status = t.pool?.status();
  return t.endpoints().map((e, i) => {
    const worker = status?.[i];
    const where = worker ? ` (TURN worker ${i}, relay ports ${worker.relayPorts.min}-${worker.relayPorts.max})` : '';
    return `STUN/TURN: udp and tcp port ${e.port}${e.tlsPort ? `, tls port ${e.tlsPort}` : ''} on ${e.addresses.join(', ')}${where}`;
  });
}

/** `switchboard turn`: only the STUN/TURN server, for a machine of its own. */
async function turn(args: string[]): Promise<void> {
  const config = configFromArgs(args);
  if (!config.turnSecret && config.turnUsers.length === 0) fail('turn: --turn-secret or --turn-user is required (TURN is never open)', 1);
  const logger = pino({ level: config.logLevel, base: { app: 'switchboard-turn' } });
  entryFaults.setLogger(logger);
  installProcessBackstop();
  const service = await startTurnService(configSections(config), config.turnSecret, logger).catch((err: Error) =>
    fail(`cannot start: ${err.message}`, 1),
  );
  const status = service.pool?.status();
  const lines = service.endpoints().flatMap((server, i) => {
    const kinds = server.tlsPort ? `udp, tcp; tls on ${server.tlsPort}` : 'udp, tcp';
    const worker = status?.[i] ? ` — TURN worker ${i}, relay ports ${status[i].relayPorts.min}-${status[i].relayPorts.max}` : '';
    return server.addresses.map((a) => `TURN listening on ${a.includes(':') ? `[${a}]` : a}:${server.port} (${kinds})${worker}`);
  });
  process.stdout.write(lines.join('\n') + '\n');
  onSignal(() => service.close());
}

async function token(args: string[]): Promise<void> {
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        room: { type: 'string' },
        identity: { type: 'string' },
        ttl: { type: 'string' },
        name: { type: 'string' },
        secret: { type: 'string' },
      },
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
  const jwt = await createAccessToken({ secret, identity: values.identity, room: values.room, ttlSeconds, name: values.name });
  process.stdout.write(jwt + '\n');
}

/** `switchboard config --markdown`: the README's configuration table, from the schema. */
function printConfigTable(args: string[]): void {
  if (args.length !== 1 || args[0] !== '--markdown') fail(`config: only --markdown is known\n${USAGE}`);
  process.stdout.write(configMarkdown() + '\n');
}

async function loadtest(args: string[]): Promise<void> {
  let opts;
  try {
    opts = parseLoadtestArgs(args);
  } catch (err) {
    if (err instanceof UsageError) fail(`loadtest: ${err.message}\n${LOADTEST_USAGE}`);
    throw err;
  }
  // Loaded here so that serve/turn/token never load the load tool (nor its lazily loaded addons).
  const { runLoadtest } = await import('../../bench/loadtest/run.js');
  const { formatReport } = await import('../../bench/loadtest/report.js');
  try {
    const report = await runLoadtest(opts, {
      log: (line) => {
        if (!opts.json) process.stderr.write(`${line}\n`);
      },
    });
    process.stdout.write((opts.json ? JSON.stringify(report, null, 2) : formatReport(report)) + '\n');
    // The report is printed either way; a run that measured nothing must not look like a success to a script.
    if (report.tracks.length === 0 && opts.subscribers > 0)
      fail(`loadtest: nothing was measured (${report.errors[0] ?? 'no track reached a subscriber'})`, 1);
  } catch (err) {
    if (err instanceof UsageError) fail(`loadtest: ${err.message}`);
    fail(`loadtest: ${(err as Error).message}`, 1);
  }
  // node-datachannel's threads may outlive its cleanup by a moment; the report is out, so leave.
  process.exit(0);
}

const [command, ...rest] = process.argv.slice(2);
switch (command) {
  case 'serve':
    await serve(rest);
    break;
  case 'token':
    await token(rest);
    break;
  case 'turn':
    await turn(rest);
    break;
  case 'loadtest':
    await loadtest(rest);
    break;
  case 'config':
    printConfigTable(rest);
    break;
  case undefined:
  case '-h':
  case '--help':
    process.stdout.write(USAGE + '\n');
    break;
  default:
    fail(`unknown command "${command}"\n${USAGE}`);
}
