/**
 * A lab for bandwidth estimation against real browsers: the server in this process (reachable
 * from a NAT lab home through ./lab-uplink.ts, so its transports can be read), one Chromium
 * publisher on this machine (a noise camera), one Chromium subscriber on this machine (no
 * limit; it publishes Chromium's fake camera as well) and one receive-only Chromium subscriber
 * in a lab home whose downlink is shaped by a `tbf`
 * qdisc on the home router's LAN side (this kernel has tbf, not netem). Used by the netlab
 * test (test/netlab/sfu-bwe.test.ts) and the fixture recorder (./record-bwe-feedback.ts).
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSwitchboard, type Switchboard } from '../../src/server/app.js';
import type { SfuParticipant } from '../../src/session/SfuParticipant.js';
import { openPage } from '../e2e/page-api.js';
import { CHROMIUM_PATH, launchChromium, waitFor, type TestBrowser, type TestPage } from './browsers.js';
import { attachToLab, type LabUplink } from './lab-uplink.js';
import { createNatLab, type NatLab } from './netlab.js';
import { xorshift32 } from './random.js';

export interface BweLab {
  server: Switchboard;
  room: string;
  pages: Array<{ label: string; page: TestPage }>;
  /** The server's participant of a page, by its display name. */
  participant(name: string): Promise<SfuParticipant>;
  /** Shapes the limited page's downlink to `kbit` kbit/s (replacing any shaping), or lifts it (null). */
  shape(kbit: number | null): void;
  close(): Promise<void>;
}

export const PUBLISHER = 'pub';
export const LIMITED = 'limited';
export const UNLIMITED = 'free';
/** The lab's server listens on a lab address, not loopback: its /metrics needs this bearer token. */
export const LAB_METRICS_TOKEN = 'bwe-lab-metrics-token';

export interface BweLabOptions {
  room: string;
  limitKbit: number | null;
  /** The publisher's camera size (`video=` of the page URL). */
  publisherVideo?: string;
  /** Simulcast publishing (`layering=simulcast`), with Chromium's own fake camera instead of noise. */
  simulcast?: boolean;
  /** Whether the unlimited subscriber publishes its fake camera too (default true). */
  freePublishes?: boolean;
  /** The room's topology (default sfu); in an MCU room every page receives the server's mix. */
  topology?: 'sfu' | 'mcu';
}

export async function startBweLab(opts: BweLabOptions): Promise<BweLab> {
  const dir = mkdtempSync(join(tmpdir(), 'sb-bwe-'));
  const browsers: TestBrowser[] = [];
  const pages: Array<{ label: string; page: TestPage }> = [];
  let lab: NatLab | undefined;
  let uplink: LabUplink | undefined;
  let server: Switchboard | undefined;
  let shaped = false;
  const close = async (): Promise<void> => {
    for (const b of browsers) await b.close();
    await server?.close();
    uplink?.close();
    lab?.destroy();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    lab = createNatLab([{ nat: 'cone' }]);
    const home = lab.homes[0]!;
    const natNs = home.natNs;
    const shape = (kbit: number | null): void => {
      if (shaped) lab!.exec(natNs, 'tc', ['qdisc', 'del', 'dev', 'lan', 'root']);
      shaped = false;
      if (kbit === null) return;
      // A token bucket at `kbit` with a 200 ms queue: what a slow home link looks like.
      lab!.exec(natNs, 'tc', ['qdisc', 'add', 'dev', 'lan', 'root', 'tbf', 'rate', `${kbit}kbit`, 'burst', '4000', 'latency', '200ms']);
      shaped = true;
    };
    shape(opts.limitKbit);
    uplink = attachToLab(lab, [home]);
    server = await startSwitchboard({
      workers: 0,
      host: uplink.ip,
      port: 0,
      rtcHost: uplink.ip,
      rtcPort: 0,
      announcedIps: [uplink.ip],
      turnEnabled: false,
      logLevel: 'silent',
      metricsToken: LAB_METRICS_TOKEN,
    });
    const origin = `http://${uplink.ip}:${server.port}`;
    const url = (name: string, video?: string, extra = ''): string =>
      `${origin}/?room=${opts.room}&name=${name}&topology=${opts.topology ?? 'sfu'}${video ? `&video=${video}` : ''}${extra}`;
    // Chromium's own fake camera compresses to a few hundred kbit/s; noise makes the publisher
    // send what its encoder is allowed to (its estimate, up to the resolution's maximum).
    // A simulcast publisher keeps Chromium's camera: noise in three layers would need far more
    // than the machine's encoder keeps up with.
    const noise = join(dir, 'noise.y4m');
    if (!opts.simulcast) writeNoiseY4m(noise, 640, 480, 15);
    const local = await launchChromium({
      insecureOriginAsSecure: origin,
      args: opts.simulcast ? [] : [`--use-file-for-fake-video-capture=${noise}`],
    });
    browsers.push(local);
    const pub = await local.newPage();
    pages.push({ label: PUBLISHER, page: pub });
    await openPage(pub, url(PUBLISHER, opts.publisherVideo, opts.simulcast ? '&layering=simulcast' : ''));
    // The unlimited subscriber publishes Chromium's own fake camera too: with the noise camera
    // the limited page receives more than its 300 kbit/s even while the publishers' own
    // estimates are still climbing.
    const second = await launchChromium({
      insecureOriginAsSecure: origin,
      ...(opts.freePublishes === false ? { media: 'none' as const } : {}),
    });
    browsers.push(second);
    const free = await second.newPage();
    pages.push({ label: UNLIMITED, page: free });
    await openPage(free, url(UNLIMITED, opts.publisherVideo));
    const wrapper = join(dir, 'chromium-in-home.sh');
    writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${home.hostNs} ${CHROMIUM_PATH} "$@"\n`);
    chmodSync(wrapper, 0o755);
    const far = await launchChromium({ executablePath: wrapper, insecureOriginAsSecure: origin, media: 'none' });
    browsers.push(far);
    const limited = await far.newPage();
    pages.push({ label: LIMITED, page: limited });
    await openPage(limited, url(LIMITED));
    const srv = server;
    return {
      server: srv,
      room: opts.room,
      pages,
      shape,
      close,
      async participant(name) {
        const seen = (): string =>
          [...(srv.sfu?.rooms.get(opts.room)?.participants.values() ?? [])]
            .map(
              (p) => `${p.id}: ${[...p.producers].length} producers, subscribe from ${p.subscribeRtc.ice.selectedTuple?.id ?? 'nowhere'}`,
            )
            .join('; ');
        // The limited page reaches the server from its home's NAT address; of the two pages on
        // this machine the publisher joined first (the router keeps join order).
        return waitFor(
          `the server's participant for ${name} (home NAT ${home.wanIp})`,
          async () => {
            const here: SfuParticipant[] = [];
            for (const p of srv.sfu?.rooms.get(opts.room)?.participants.values() ?? []) {
              const from = p.subscribeRtc.ice.selectedTuple?.remoteAddress;
              if (from === undefined) return null;
              if (from === home.wanIp) {
                if (name === LIMITED) return p;
              } else here.push(p);
            }
            if (here.length !== 2) return null;
            return name === PUBLISHER ? here[0]! : name === UNLIMITED ? here[1]! : null;
            return null;
          },
          30_000,
          300,
        ).catch((err: Error) => {
          err.message += `; participants: ${seen()}`;
          throw err;
        });
      },
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** A YUV4MPEG2 file of `frames` frames of seeded random noise (I420), which Chromium loops. */
function writeNoiseY4m(path: string, width: number, height: number, frames: number): void {
  const frameBytes = (width * height * 3) / 2;
  const header = Buffer.from(`YUV4MPEG2 W${width} H${height} F30:1 Ip A1:1 C420jpeg\n`);
  const frameHeader = Buffer.from('FRAME\n');
  const out = Buffer.alloc(header.length + frames * (frameHeader.length + frameBytes));
  header.copy(out, 0);
  const rnd = xorshift32(0x5eed);
  let off = header.length;
  for (let f = 0; f < frames; f++) {
    frameHeader.copy(out, off);
    off += frameHeader.length;
    for (let i = 0; i < frameBytes; i++) out[off + i] = rnd(256);
    off += frameBytes;
  }
  writeFileSync(path, out);
}
