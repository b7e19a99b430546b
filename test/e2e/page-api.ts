/**
 * What the e2e tests see of the web app: the shape of `window.switchboard` (documented at the top
 * of web/main.ts) and helpers to open pages and read from them.
 *
 * Functions given to `page.evaluate` run in the browser, serialised as source text: they cannot
 * use imports or closures, and this tsconfig has no DOM types, so they reach the page through
 * `globalThis as unknown as PageGlobals`.
 */
import type { TestPage } from '../helpers/browsers.js';

export interface RemoteStat {
  participantId: string;
  name: string;
  videoFramesDecoded: number;
  videoWidth: number;
  videoHeight: number;
  audioEnergy: number;
  audioSamplesReceived: number;
  audioConcealedSamples: number;
  /** The received audio's codec (inbound-rtp codecId → mimeType), e.g. 'audio/red'. */
  audioCodec: string | null;
  localCandidateType: string | null;
  remoteCandidateType: string | null;
  /** 'udp' | 'tcp' | 'tls' when the local candidate is a relay (transport to the TURN server). */
  localRelayProtocol: string | null;
  connectionState: string;
  /** The selected pair's remote candidate (SFU rooms: the server's RTC address and port). */
  remoteCandidateAddress: string | null;
  remoteCandidatePort: number | null;
  /** Inbound video: NACKs this page sent. */
  nackCount: number;
  /** Inbound video: retransmitted packets received (Chromium); null where not reported. */
  retransmittedPacketsReceived: number | null;
  /** RTCP sender reports received for this participant's streams (remote-outbound-rtp). */
  senderReportsReceived: number;
}

/** SFU rooms: the page's publish connection to the server (`switchboard.publishStats()`). */
export interface PublishStat {
  remoteCandidateAddress: string | null;
  remoteCandidatePort: number | null;
  localCandidateType: string | null;
  bitrateOutKbps: number;
  /** The sent audio's codec (outbound-rtp codecId → mimeType): 'audio/red' when the browser sends RED. */
  audioCodec: string | null;
  /** RTT computed from the server's receiver reports (remote-inbound-rtp), ms. */
  reportedRttMs: number | null;
  /** The browser's send-side bandwidth estimate (Chromium), kbit/s. */
  availableOutgoingKbps: number | null;
}

export interface CallStat {
  videoFramesDecoded: number;
  audioEnergy: number;
  connectionState: string | null;
}

export interface SwitchboardHandle {
  room: { participants: { size: number } } | null;
  /** The topology the server chose ('mesh', 'sfu'…); null outside a room. */
  topology: string | null;
  /** SFU rooms: the active speaker's participant id (ours when we speak), or null. */
  activeSpeaker: string | null;
  /** Every active-speaker change the page saw. */
  speakerChanges: Array<{ participantId: string | null; at: number }>;
  setMuted(kind: 'audio' | 'video', muted: boolean): void;
  ready: Promise<void>;
  remoteStats(): Promise<RemoteStat[]>;
  /** null in mesh rooms. */
  publishStats(): Promise<PublishStat | null>;
  sendChat(text: string): void;
  chatLog: Array<{ from: string; name: string; text: string; local: boolean }>;
  sendFile(name: string, bytes: Uint8Array): Promise<{ sha256: string; failures: string[] }>;
  receivedFiles: Array<{ name: string; size: number; sha256: string; ok: boolean; from: string }>;
  leave(): Promise<void>;
  call(identity: string): Promise<void>;
  acceptCall(): Promise<void>;
  rejectCall(): void;
  cancelCall(): void;
  hangup(): void;
  callState: string;
  callEndReason: string | null;
  callStats(): Promise<CallStat | null>;
}

interface MiniElement {
  textContent: string | null;
  getAttribute(name: string): string | null;
  open?: boolean;
}

export interface PageGlobals {
  switchboard: SwitchboardHandle;
  document: {
    querySelector(sel: string): MiniElement | null;
    querySelectorAll(sel: string): { length: number; forEach(fn: (el: MiniElement) => void): void };
  };
  crypto: { getRandomValues(a: Uint8Array): Uint8Array };
}

/** Video small and slow: two cores run every browser in these tests. */
export const LOW_VIDEO = '320x240';

export async function openPage(page: TestPage, url: string): Promise<void> {
  await page.goto(url);
  await withTimeout(
    page.evaluate(() => (globalThis as unknown as PageGlobals).switchboard.ready),
    20_000,
    `page ready (${url})`,
  );
}

export function remoteStats(page: TestPage): Promise<RemoteStat[]> {
  return page.evaluate(() => (globalThis as unknown as PageGlobals).switchboard.remoteStats());
}

export function publishStats(page: TestPage): Promise<PublishStat | null> {
  return page.evaluate(() => (globalThis as unknown as PageGlobals).switchboard.publishStats());
}

/** Participant ids of the remote tiles currently in the page's DOM. */
export function remoteTileIds(page: TestPage): Promise<string[]> {
  return page.evaluate(() => {
    const ids: string[] = [];
    (globalThis as unknown as PageGlobals).document
      .querySelectorAll('.tile[data-participant-id]')
      .forEach((el) => ids.push(el.getAttribute('data-participant-id') ?? ''));
    return ids;
  });
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs `fn`; on failure, appends the pages' recent console output to the error for diagnosis. */
export async function diagnose<T>(
  pages: Array<{ label: string; page: TestPage }>,
  fn: () => Promise<T>,
  serverState?: () => string,
): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const logs = pages
      .map(({ label, page }) => `--- ${label} (${page.engine}) console ---\n${page.consoleLines.slice(-25).join('\n')}`)
      .join('\n');
    if (err instanceof Error) err.message += `\n${logs}${serverState ? serverState() : ''}`;
    throw err;
  }
}
