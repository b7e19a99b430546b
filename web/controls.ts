/**
 * The control bar: mute mic / camera, screen share, device picker, stats overlay, leave.
 * It only calls LocalMedia and the callbacks it is given; peers follow through `tracks-changed`.
 */
import type { LocalMedia, MediaKind } from '../client/index.js';
import { showBanner } from './banners.js';
import { byId, h } from './dom.js';

export interface ControlActions {
  leave(): void;
  toggleStats(on: boolean): void;
}

export class Controls {
  private statsOn = false;

  constructor(
    private readonly media: LocalMedia,
    actions: ControlActions,
  ) {
    const mic = byId<HTMLButtonElement>('btn-mic');
    const cam = byId<HTMLButtonElement>('btn-cam');
    const screen = byId<HTMLButtonElement>('btn-screen');
    const devices = byId<HTMLButtonElement>('btn-devices');
    const stats = byId<HTMLButtonElement>('btn-stats');
    const picker = byId('device-picker');

    mic.addEventListener('click', () => media.setMuted('audio', !media.muted.audio));
    cam.addEventListener('click', () => media.setMuted('video', !media.muted.video));
    screen.addEventListener('click', () => {
      if (media.sharingScreen) {
        media.stopScreenShare();
        return;
      }
      media.startScreenShare().catch((err: unknown) => {
        // Closing the browser's picker is a NotAllowedError too: only report real failures.
        if (err instanceof DOMException && err.name === 'NotAllowedError') return;
        showBanner('screen', 'warn', `Screen share failed: ${err instanceof Error ? err.message : String(err)}`);
      });
    });
    devices.addEventListener('click', () => {
      picker.hidden = !picker.hidden;
      devices.setAttribute('aria-expanded', String(!picker.hidden));
      if (!picker.hidden) void this.fillDevices();
    });
    stats.addEventListener('click', () => {
      this.statsOn = !this.statsOn;
      stats.setAttribute('aria-pressed', String(this.statsOn));
      actions.toggleStats(this.statsOn);
    });
    byId('btn-leave').addEventListener('click', () => actions.leave());

    for (const [id, kind] of [
      ['mic-select', 'audio'],
      ['cam-select', 'video'],
    ] as const) {
      byId<HTMLSelectElement>(id).addEventListener('change', (ev) => {
        const deviceId = (ev.target as HTMLSelectElement).value;
        media.switchDevice(kind, deviceId).catch((err: unknown) => {
          showBanner(
            'device',
            'warn',
            `Could not switch ${kind === 'audio' ? 'microphone' : 'camera'}: ${err instanceof Error ? err.message : String(err)}`,
          );
        });
      });
    }

    media.on('mute-changed', (m) => this.render(m.audio, m.video));
    media.on('screen-share', ({ active }) => {
      screen.setAttribute('aria-pressed', String(active));
      screen.classList.toggle('on', active);
    });
    media.on('tracks-changed', () => this.render(media.muted.audio, media.muted.video));
    if (!navigator.mediaDevices?.getDisplayMedia) screen.disabled = true;
    this.render(false, false);
  }

  private render(audioMuted: boolean, videoMuted: boolean): void {
    const set = (id: string, kind: MediaKind, muted: boolean): void => {
      const b = byId<HTMLButtonElement>(id);
      const has = kind === 'audio' ? this.media.micTrack !== null : this.media.cameraTrack !== null;
      b.disabled = !has;
      b.classList.toggle('off', muted || !has);
      b.setAttribute('aria-pressed', String(muted));
      b.title = !has ? `No ${kind === 'audio' ? 'microphone' : 'camera'}` : muted ? 'Turn on' : 'Turn off';
    };
    set('btn-mic', 'audio', audioMuted);
    set('btn-cam', 'video', videoMuted);
  }

  private async fillDevices(): Promise<void> {
    const list = await this.media.listDevices();
    const fill = (id: string, kind: MediaDeviceKind, current: MediaStreamTrack | null): void => {
      const sel = byId<HTMLSelectElement>(id);
      sel.replaceChildren();
      const currentId = current?.getSettings().deviceId;
      let n = 0;
      for (const d of list.filter((x) => x.kind === kind)) {
        n++;
        const opt = h('option', { text: d.label || `${kind === 'audioinput' ? 'Microphone' : 'Camera'} ${n}` });
        opt.value = d.deviceId;
        opt.selected = d.deviceId === currentId;
        sel.append(opt);
      }
      if (n === 0) sel.append(h('option', { text: 'none found' }));
      sel.disabled = n === 0;
    };
    fill('mic-select', 'audioinput', this.media.micTrack);
    fill('cam-select', 'videoinput', this.media.cameraTrack);
  }
}
