#!/usr/bin/env node
/**
 * `npm run build` only when dist/ is not current: `npm start` and the test scripts run this, so a
 * start with an unchanged tree takes a second instead of a full build (~45 s).
 *
 * Current means: the stamp dist/.build-stamp exists, every file the start needs exists, and no
 * build input (a file or a folder, so that a deleted or renamed file counts too) changed since
 * the last build that succeeded began. The stamp is written only after a successful build, with
 * the time that build started: a file saved during a build makes the next run build again, and a
 * failed build (tsc still emits) is never taken for a current one. A plain `npm run build` writes
 * no stamp, so the next start builds once more: safe, never stale.
 *
 * Plain Node, no dependency: it runs before anything is built.
 *   node scripts/build-if-stale.mjs            # in the repository root (npm scripts run there)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** What `npm run build` reads: tsc (tsconfig.json: src, test, bench), tsc + Vite (client, web), the dependencies. */
export const BUILD_INPUTS = [
  'src',
  'client',
  'web',
  'test',
  'bench',
  'tsconfig.json',
  'tsconfig.web.json',
  'package.json',
  'package-lock.json',
];
/** What `npm start` runs and serves. */
export const BUILD_OUTPUTS = ['dist/src/cli/main.js', 'dist/web/index.html'];
export const STAMP = 'dist/.build-stamp';

/** The newest modification time under `path` (the path itself included), or 0 if it does not exist. */
function newestMtime(path) {
  let stat;
  try {
    stat = lstatSync(path);
  } catch {
    return { path, mtimeMs: 0 };
  }
  let newest = { path, mtimeMs: stat.mtimeMs };
  if (stat.isDirectory()) {
    for (const name of readdirSync(path)) {
      const inner = newestMtime(join(path, name));
      if (inner.mtimeMs > newest.mtimeMs) newest = inner;
    }
  }
  return newest;
}

/** Why `root` needs a build, or null when its dist/ is current. */
export function staleReason(root, inputs = BUILD_INPUTS, outputs = BUILD_OUTPUTS) {
  const stamp = join(root, STAMP);
  if (!existsSync(stamp)) return `no ${STAMP} (never built by this script, or the last build failed)`;
  const missing = outputs.find((o) => !existsSync(join(root, o)));
  if (missing) return `${missing} is missing`;
  const built = lstatSync(stamp).mtimeMs;
  for (const input of inputs) {
    const newest = newestMtime(join(root, input));
    // Equal counts as newer: a file saved in the same instant as the build began may not be in it.
    if (newest.mtimeMs >= built) return `${newest.path.slice(root.length + 1)} changed since the last build`;
  }
  return null;
}

/** Builds `root` if it is stale; returns the exit status (0 also when nothing had to be done). */
export function buildIfStale(root, log = (line) => process.stderr.write(`${line}\n`)) {
  const reason = staleReason(root);
  if (reason === null) {
    log('build-if-stale: dist/ is current, not rebuilding');
    return 0;
  }
  log(`build-if-stale: building: ${reason}`);
  const started = new Date();
  // No stamp while building: if this build fails or is interrupted, the next run builds again.
  rmSync(join(root, STAMP), { force: true });
  const run = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  if (run.status !== 0) return run.status ?? 1;
  mkdirSync(join(root, 'dist'), { recursive: true });
  writeFileSync(join(root, STAMP), 'written by scripts/build-if-stale.mjs after a successful build; its mtime is when that build began\n');
  utimesSync(join(root, STAMP), started, started);
  return 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exit(buildIfStale(process.cwd()));
