/**
 * The soak (test/soak/soak.ts) for a bounded time: SFU, MCU and mesh rooms, 1:1 calls and TURN
 * allocations churning against a `switchboard serve` child with headless peers; the server's
 * live objects, descriptors, handles, heap and RSS must come back, with no unexpected warning
 * and every /healthz probe answered. SOAK_MINUTES overrides the 2 minutes (`npm run soak --
 * --minutes N` for longer runs). The soak runs in a process of its own: node-datachannel's
 * threads are released only by its cleanup at exit.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SOAK = join(dirname(fileURLToPath(import.meta.url)), '../soak/soak.js');
const MINUTES = Number(process.env.SOAK_MINUTES ?? 2);

test(
  `soak: every topology churning for ${MINUTES} min leaves the server as it found it`,
  { timeout: (MINUTES * 60 + 180) * 1000 },
  async (t) => {
    const child = spawn(process.execPath, [SOAK, '--minutes', String(MINUTES)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    for (const line of stdout.trimEnd().split('\n')) t.diagnostic(line);
    assert.equal(code, 0, `soak failed (exit ${code}):\n${stdout}\n--- progress ---\n${stderr.slice(-4000)}`);
    assert.match(stdout, /SOAK PASSED/);
  },
);
