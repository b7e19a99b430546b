/**
 * The video grid: one tile per person (and one for a 1:1 call's remote side). Remote tiles carry
 * `data-participant-id`; the call tile carries `data-call-id`. Remote audio plays through its own
 * <audio> element: the <video> stays muted so the local preview never echoes, and browsers only
 * compute `totalAudioEnergy` for audio that is actually played out.
 *
 * The active speaker's tile has class `speaking` (and `data-speaking`); a remote speaker's tile is
 * also `promoted`: first in the grid, and wider when there are three tiles or more.
 */
import { h } from './dom.js';

export class Tile {
  readonly el: HTMLDivElement;
  private readonly video: HTMLVideoElement;
  private readonly audio: HTMLAudioElement | null;
  private readonly stateEl: HTMLSpanElement;
  private readonly statsEl: HTMLPreElement;
  private readonly badgeEl: HTMLSpanElement;

  constructor(opts: { name: string; local: boolean; attrs: Record<`data-${string}`, string>; onAutoplayBlocked: () => void }) {
    this.video = h('video', { class: opts.local ? 'mirror' : '' });
    this.video.autoplay = true;
    this.video.playsInline = true;
    this.video.muted = true;
    this.audio = opts.local ? null : h('audio');
    if (this.audio) this.audio.autoplay = true;
    this.stateEl = h('span', { class: 'conn-state', text: opts.local ? '' : 'new' });
    this.badgeEl = h('span', { class: 'badges' });
    this.statsEl = h('pre', { class: 'stats-overlay' });
    const initial = (opts.name.trim()[0] ?? '?').toUpperCase();
    this.el = h(
      'div',
      { class: `tile${opts.local ? ' local' : ''}`, ...opts.attrs },
      h('div', { class: 'avatar', text: initial }),
      this.video,
      this.audio,
      h(
        'div',
        { class: 'label' },
        h('span', { class: 'name', text: opts.local ? `${opts.name} (you)` : opts.name }),
        this.badgeEl,
        this.stateEl,
      ),
      this.statsEl,
    );
    this.onAutoplayBlocked = opts.onAutoplayBlocked;
  }

  private readonly onAutoplayBlocked: () => void;

  /** (Re)attach a stream; call again when tracks are added so every browser picks them up. */
  attach(stream: MediaStream): void {
    if (this.video.srcObject !== stream) this.video.srcObject = stream;
    if (this.audio && this.audio.srcObject !== stream) this.audio.srcObject = stream;
    this.el.classList.toggle('has-video', stream.getVideoTracks().length > 0);
    this.play();
  }

  play(): void {
    for (const m of [this.video, this.audio]) {
      if (!m || !m.srcObject) continue;
      m.play().catch((err: unknown) => {
        // Autoplay with sound needs a user gesture in some browsers: ask for one.
        if (err instanceof DOMException && err.name === 'NotAllowedError') this.onAutoplayBlocked();
      });
    }
  }

  setState(state: string): void {
    this.stateEl.textContent = state;
    this.stateEl.dataset.state = state;
    this.el.dataset.connectionState = state;
  }

  setBadges(badges: string[]): void {
    this.badgeEl.textContent = badges.join(' ');
  }

  setSpeaking(speaking: boolean, promoted: boolean): void {
    this.el.classList.toggle('speaking', speaking);
    this.el.classList.toggle('promoted', speaking && promoted);
    if (speaking) this.el.dataset.speaking = 'true';
    else delete this.el.dataset.speaking;
  }

  setStats(text: string | null): void {
    this.statsEl.textContent = text ?? '';
    this.statsEl.hidden = text === null;
  }

  /**
   * Calls `report` with the tile's size in device pixels whenever it settles after a change
   * (ResizeObserver, debounced): in SFU rooms the server then forwards the smallest video layer
   * that covers it. The video fills the tile (object-fit: cover), so the tile's box is what
   * must be covered.
   */
  observeSize(report: (width: number, height: number) => void, debounceMs = 250): void {
    this.sizeObserver?.disconnect();
    let timer: ReturnType<typeof setTimeout> | null = null;
    this.sizeObserver = new ResizeObserver(() => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        timer = null;
        const dpr = window.devicePixelRatio || 1;
        const box = this.el.getBoundingClientRect();
        report(Math.round(box.width * dpr), Math.round(box.height * dpr));
      }, debounceMs);
    });
    this.sizeObserver.observe(this.el);
  }

  private sizeObserver: ResizeObserver | null = null;

  remove(): void {
    this.sizeObserver?.disconnect();
    this.video.srcObject = null;
    if (this.audio) this.audio.srcObject = null;
    this.el.remove();
  }
}

export class VideoGrid {
  private readonly tiles = new Map<string, Tile>();
  private speakerKey: string | null = null;

  constructor(
    private readonly root: HTMLElement,
    private readonly onAutoplayBlocked: () => void,
  ) {}

  add(key: string, opts: { name: string; local?: boolean; attrs?: Record<`data-${string}`, string> }): Tile {
    this.remove(key);
    const tile = new Tile({
      name: opts.name,
      local: opts.local ?? false,
      attrs: opts.attrs ?? {},
      onAutoplayBlocked: this.onAutoplayBlocked,
    });
    this.tiles.set(key, tile);
    this.root.append(tile.el);
    if (key === this.speakerKey) tile.setSpeaking(true, key !== 'local');
    this.relayout();
    return tile;
  }

  /** Marks the active speaker's tile (key 'local' for ourselves: highlighted, not promoted); null clears. */
  setSpeaker(key: string | null): void {
    if (this.speakerKey !== null) this.tiles.get(this.speakerKey)?.setSpeaking(false, false);
    this.speakerKey = key;
    if (key !== null) this.tiles.get(key)?.setSpeaking(true, key !== 'local');
  }

  get(key: string): Tile | undefined {
    return this.tiles.get(key);
  }

  remove(key: string): void {
    const t = this.tiles.get(key);
    if (!t) return;
    t.remove();
    this.tiles.delete(key);
    this.relayout();
  }

  all(): Tile[] {
    return [...this.tiles.values()];
  }

  playAll(): void {
    for (const t of this.tiles.values()) t.play();
  }

  /** Column count that keeps tiles as large as possible for the number of people. */
  private relayout(): void {
    const n = Math.max(1, this.tiles.size);
    const cols = n <= 1 ? 1 : n <= 4 ? 2 : n <= 9 ? 3 : 4;
    this.root.style.setProperty('--cols', String(cols));
    this.root.dataset.count = String(n);
  }
}
