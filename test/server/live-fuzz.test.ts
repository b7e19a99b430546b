/**
 * A bounded pass of the live fuzz harness (test/fuzz/live-fuzz.ts) in `npm test`: a real server
 * process takes hostile input on every port it opens and must answer /healthz after every batch,
 * never exit, catch no exception at any entry point, log no error, and give its file
 * descriptors back. Longer runs: `node dist/test/fuzz/live-fuzz.js --minutes N`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatReport, runLiveFuzz } from '../fuzz/live-fuzz.js';

const INPUTS = Number(process.env.SWITCHBOARD_FUZZ_INPUTS ?? 20_000);

test(`the live server survives ${INPUTS} hostile inputs on every port`, { timeout: 600_000 }, async () => {
  const report = await runLiveFuzz({ inputs: INPUTS, seed: 20261207 });
  console.log(formatReport(report));
  assert.equal(report.exitCode, null, 'the server process did not exit');
  assert.equal(report.exitSignal, null, 'the server process was not killed');
  assert.deepEqual(report.unhealthy, [], 'every health probe answered');
  assert.deepEqual(report.faults, {}, 'no exception reached an entry point guard or the process backstop');
  assert.deepEqual(report.errorLogs, [], 'no error logs');
  assert.ok(report.fdsEnd <= report.fdsStart + 8, `file descriptors given back (${report.fdsStart} → ${report.fdsEnd})`);
});
