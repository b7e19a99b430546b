/**
 * Real browsers for end-to-end tests, both from Debian packages (../shared/DESIGN.md):
 * Chromium driven by playwright-core, Firefox ESR driven by puppeteer-core over WebDriver BiDi.
 * Both use fake camera/microphone devices and grant media permission without a prompt,
 * which is the only thing the tests skip of a user's flow.
 *
 * Each launcher returns a `TestBrowser` with one small API so tests can mix engines.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser as PwBrowser, type Page as PwPage } from 'playwright-core';
import puppeteer, { type Browser as PpBrowser, type Page as PpPage } from 'puppeteer-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const FIREFOX_PATH = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';

export type Engine = 'chromium' | 'firefox';

/** One open tab, engine-neutral. */
export interface TestPage {
  readonly engine: Engine;
  goto(url: string): Promise<void>;
  /** Runs `fn(arg)` in the page and returns its (JSON-serialisable) result. */
  evaluate<R, A = undefined>(fn: (arg: A) => R | Promise<R>, arg?: A): Promise<R>;
  /** Clicks the first element matching `selector`. */
  click(selector: string): Promise<void>;
  /** Runs `script` in every document this page loads from now on, before the page's own scripts. */
  addInitScript(script: string): Promise<void>;
  screenshot(path: string): Promise<void>;
  /** Console lines collected so far (for diagnostics on failure). */
  readonly consoleLines: string[];
  close(): Promise<void>;
}

export interface TestBrowser {
  readonly engine: Engine;
  /** A fresh tab in its own context (separate storage, separate media permission). */
  newPage(): Promise<TestPage>;
  close(): Promise<void>;
}

export interface LaunchOptions {
  /** Passed to Chromium as --unsafely-treat-insecure-origin-as-secure for non-localhost origins. */
  insecureOriginAsSecure?: string;
  /** Extra command-line arguments (Chromium) . */
  args?: string[];
  /** Alternative executable, e.g. a wrapper that runs the browser inside a network namespace. */
  executablePath?: string;
  /**
   * Chromium's media devices: 'fake' (default: fake camera/mic, permission granted), 'denied'
   * (fake devices, but the permission prompt is refused), 'none' (no device at all).
   */
  media?: 'fake' | 'denied' | 'none';
  /** With media 'fake': how many fake cameras and microphones (Chromium's device-count). */
  fakeDeviceCount?: number;
}

export function browsersAvailable(): { chromium: boolean; firefox: boolean } {
  return { chromium: existsSync(CHROMIUM_PATH), firefox: existsSync(FIREFOX_PATH) };
}

const CHROMIUM_ARGS = [
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  // Two cores run several pages: keep hidden/occluded pages rendering and decoding.
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
  '--autoplay-policy=no-user-gesture-required',
];

export async function launchChromium(opts: LaunchOptions = {}): Promise<TestBrowser> {
  const media = opts.media ?? 'fake';
  const fakeDevice = opts.fakeDeviceCount
    ? `--use-fake-device-for-media-stream=device-count=${opts.fakeDeviceCount}`
    : '--use-fake-device-for-media-stream';
  const mediaArgs = {
    fake: [fakeDevice, '--use-fake-ui-for-media-stream'],
    denied: [fakeDevice, '--deny-permission-prompts'],
    none: ['--use-fake-ui-for-media-stream'],
  }[media];
  const args = [...mediaArgs, ...CHROMIUM_ARGS, ...(opts.args ?? [])];
  if (opts.insecureOriginAsSecure) args.push(`--unsafely-treat-insecure-origin-as-secure=${opts.insecureOriginAsSecure}`);
  const browser: PwBrowser = await chromium.launch({
    executablePath: opts.executablePath ?? CHROMIUM_PATH,
    headless: true,
    args,
  });
  return {
    engine: 'chromium',
    async newPage() {
      const context = await browser.newContext({ permissions: media === 'denied' ? [] : ['camera', 'microphone'] });
      const page = await context.newPage();
      const wrapped = wrapPage('chromium', page);
      const origClose = wrapped.close.bind(wrapped);
      wrapped.close = async () => {
        await origClose();
        await context.close().catch(() => undefined);
      };
      return wrapped;
    },
    async close() {
      await browser.close().catch(() => undefined);
    },
  };
}

/**
 * playwright-core and puppeteer-core pages share every call used here (goto with waitUntil,
 * evaluate, click, screenshot, close, console/pageerror events), so one wrapper serves both.
 */
function wrapPage(engine: Engine, driverPage: PwPage | PpPage): TestPage {
  const page = driverPage as PwPage;
  const consoleLines: string[] = [];
  page.on('console', (m) => consoleLines.push(`[${m.type()}] ${m.text()}`));
  page.on('pageerror', (e: unknown) => consoleLines.push(`[pageerror] ${e instanceof Error ? e.message : String(e)}`));
  return {
    engine,
    consoleLines,
    async goto(url) {
      await page.goto(url, { waitUntil: 'load' });
    },
    evaluate: (fn, arg) => page.evaluate(fn as never, arg as never) as never,
    async click(selector) {
      await page.click(selector);
    },
    async addInitScript(script) {
      if (engine === 'chromium') await page.addInitScript(script);
      else await (driverPage as PpPage).evaluateOnNewDocument(script);
    },
    async screenshot(path) {
      await page.screenshot({ path });
    },
    async close() {
      await page.close().catch(() => undefined);
    },
  };
}

export async function launchFirefox(opts: LaunchOptions = {}): Promise<TestBrowser> {
  // A throwaway profile per launch: nothing carries over between tests.
  const profileDir = mkdtempSync(join(tmpdir(), 'sb-firefox-'));
  const browser: PpBrowser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: opts.executablePath ?? FIREFOX_PATH,
    headless: true,
    userDataDir: profileDir,
    protocolTimeout: 120_000,
    extraPrefsFirefox: {
      'media.navigator.streams.fake': true,
      'media.navigator.permission.disabled': true,
      'media.peerconnection.ice.loopback': true,
      'media.autoplay.default': 0,
      'media.autoplay.blocking_policy': 0,
      'datareporting.policy.dataSubmissionEnabled': false,
      'app.update.enabled': false,
      'browser.shell.checkDefaultBrowser': false,
      'network.captive-portal-service.enabled': false,
      'network.connectivity-service.enabled': false,
      'extensions.update.enabled': false,
      'browser.safebrowsing.malware.enabled': false,
      'browser.safebrowsing.phishing.enabled': false,
      'browser.safebrowsing.downloads.enabled': false,
      'browser.search.update': false,
      'services.settings.server': 'http://127.0.0.1:9/',
      'network.dns.disableIPv6': false,
      'dom.min_background_timeout_value': 4,
      ...(opts.insecureOriginAsSecure ? { 'dom.securecontext.allowlist': new URL(opts.insecureOriginAsSecure).hostname } : {}),
    },
  });
  return {
    engine: 'firefox',
    async newPage() {
      const context = await browser.createBrowserContext();
      const page = await context.newPage();
      const wrapped = wrapPage('firefox', page);
      const origClose = wrapped.close.bind(wrapped);
      wrapped.close = async () => {
        await origClose();
        await context.close().catch(() => undefined);
      };
      return wrapped;
    },
    async close() {
      await browser.close().catch(() => undefined);
      rmSync(profileDir, { recursive: true, force: true });
    },
  };
}

/** Polls `probe` until it returns a truthy value or `timeoutMs` passes; the error names `what`. */
export async function waitFor<T>(what: string, probe: () => Promise<T> | T, timeoutMs = 20_000, intervalMs = 250): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${String(last)})`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
