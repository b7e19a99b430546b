/** `switchboard serve` as a user starts it. */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { CONFIG_SCHEMA, SECTIONS, readmeTable } from '../../src/server/config.js';

const run = promisify(execFile);
const CLI = new URL('../../src/cli/main.js', import.meta.url).pathname;

test('a bad config value stops startup naming the key', async () => {
  await assert.rejects(
    run('node', [CLI, 'serve', '--port', 'abc']),
    (err: { code: number; stderr: string }) =>
      err.code === 1 && err.stderr.includes('invalid config: port must be an integer 0-65535 (got "abc")'),
  );
  await assert.rejects(
    run('node', [CLI, 'serve', '--prot', '1']),
    (err: { code: number; stderr: string }) => err.code === 2 && err.stderr.includes("Unknown option '--prot'"),
  );
});

test('a repeated --mcu-tier keeps every value; the usage lists every flag by section', async () => {
  // 700 then 300 does not rise: the error shows that both values were kept (not only the last).
  await assert.rejects(
    run('node', [CLI, 'serve', '--mcu-tier', '700', '--mcu-tier', '300'], { timeout: 10_000 }),
    (err: { code: number; stderr: string }) =>
      err.code === 1 && err.stderr.includes('invalid config: mcuTiersKbps must rise from the lowest tier to the highest (got [700,300])'),
  );
  await assert.rejects(
    run('node', [CLI, 'serve', '--mcu-fps', '0']),
    (err: { code: number; stderr: string }) =>
      err.code === 1 && err.stderr.includes('invalid config: mcuFps must be an integer 1-30 (got 0)'),
  );
  const { stdout } = await run('node', [CLI, '--help']);
  const serve = stdout.slice(stdout.indexOf('switchboard serve'), stdout.indexOf('switchboard turn'));
  for (const [key, entry] of Object.entries(CONFIG_SCHEMA)) {
    if (!('flag' in entry)) continue;
    const line = serve.split('\n').findIndex((l) => l.includes(`[--${entry.flag} `));
    assert.ok(line > 0, `serve usage lists --${entry.flag} (${key})`);
    // Under its section's label: the nearest label above it.
    const label = serve
      .split('\n')
      .slice(0, line + 1)
      .reverse()
      .find((l) => /^ {4}\w+:/.test(l));
    assert.equal(label?.trim().split(':')[0], entry.section, `--${entry.flag} under ${entry.section}`);
    if ('repeatable' in entry) assert.ok(serve.includes(`[--${entry.flag} ${entry.meta}]...`), `--${entry.flag} shown as repeatable`);
  }
  for (const section of Object.keys(SECTIONS)) if (section !== 'ice') assert.match(serve, new RegExp(`^ {4}${section}:`, 'm'));
});

test('switchboard config --markdown prints the README table', async () => {
  const { stdout } = await run('node', [CLI, 'config', '--markdown']);
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  assert.equal(stdout.trim(), readmeTable(readme));
  await assert.rejects(
    run('node', [CLI, 'config']),
    (err: { code: number; stderr: string }) => err.code === 2 && err.stderr.includes('only --markdown'),
  );
});

test('serve prints where it listens and the open-mode banner, answers health, stops on SIGTERM', async () => {
  const child = spawn(
    'node',
    [CLI, 'serve', '--port', '0', '--turn-port', '0', '--rtc-port', '0', '--host', '127.0.0.1', '--log-level', 'silent'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  try {
    let out = '';
    const url = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no banner: ${out}`)), 10_000);
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /Switchboard listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (m && out.includes('OPEN MODE') && out.includes('STUN/TURN: udp and tcp port') && /RTC media: .*\n/.test(out)) {
          clearTimeout(t);
          resolve(m[1] as string);
        }
      });
    });
    const health = (await (await fetch(`${url}/healthz`)).json()) as { status: string };
    assert.equal(health.status, 'ok');
    // The RTC port it names (asked for with --rtc-port 0) is the one it listens on: ICE-TCP accepts there.
    const rtcPort = Number(/RTC media: udp and tcp port (\d+)\n/.exec(out)?.[1]);
    assert.ok(rtcPort > 0, `the banner names the RTC port: ${out}`);
    await new Promise<void>((resolve, reject) => {
      const socket = connect(rtcPort, '127.0.0.1', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', reject);
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  } finally {
    child.kill('SIGKILL');
  }
});

test('with an auth secret there is no open-mode banner', async () => {
  const child = spawn(
    'node',
    [CLI, 'serve', '--port', '0', '--turn-port', '0', '--rtc-port', '0', '--host', '127.0.0.1', '--log-level', 'silent'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SWITCHBOARD_AUTH_SECRET: 'x'.repeat(32) },
    },
  );
  try {
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no banner: ${out}`)), 10_000);
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('signaling:')) {
          clearTimeout(t);
          resolve();
        }
      });
    });
    assert.doesNotMatch(out, /OPEN MODE/);
  } finally {
    child.kill('SIGKILL');
  }
});

test('switchboard turn: refuses to run open, runs alone with a static user and answers STUN', async () => {
  await assert.rejects(
    run('node', [CLI, 'turn', '--turn-port', '0']),
    (err: { code: number; stderr: string }) => err.code === 1 && err.stderr.includes('--turn-secret or --turn-user is required'),
  );
  const child = spawn('node', [CLI, 'turn', '--host', '127.0.0.1', '--turn-port', '0', '--turn-user', 'ops:pw', '--log-level', 'silent'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    let out = '';
    const port = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no listening line: ${out}`)), 10_000);
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /TURN listening on 127\.0\.0\.1:(\d+) \(udp, tcp\)/.exec(out);
        if (m) {
          clearTimeout(t);
          resolve(m[1] as string);
        }
      });
    });
    const { stdout } = await run('turnutils_stunclient', ['-p', port, '127.0.0.1']);
    assert.match(stdout, /UDP reflexive addr: 127\.0\.0\.1:\d+/);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  } finally {
    child.kill('SIGKILL');
  }
});
