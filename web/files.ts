/**
 * Files panel: pick a file, send it to everyone, watch progress; received files show a ✓ or ✗
 * for the SHA-256 check and a download link.
 */
import type { FileProgressEvent, ReceivedFile } from '../client/index.js';
import { byId, formatBytes, h } from './dom.js';

interface Row {
  li: HTMLLIElement;
  bar: HTMLProgressElement;
  status: HTMLSpanElement;
}

export class FilesPanel {
  private readonly list = byId<HTMLUListElement>('transfers');
  private readonly rows = new Map<string, Row>();
  /** Per outgoing transfer: bytes acknowledged per peer, so the bar shows the total to all. */
  private readonly sendProgress = new Map<string, Map<string, number>>();

  constructor(onSend: (file: File) => void) {
    const input = byId<HTMLInputElement>('file-input');
    byId<HTMLFormElement>('file-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const f = input.files?.[0];
      if (f) onSend(f);
      input.value = '';
    });
  }

  /** `sends`: how many copies an outgoing file is sent as (one per person in a mesh; one to the SFU). */
  progress(p: FileProgressEvent, peerName: string, peerCount: number, sends = peerCount): void {
    const key = p.direction === 'send' ? `send:${p.id}` : `recv:${p.id}:${p.peerId}`;
    const label =
      p.direction === 'send' ? `↑ ${p.name} to ${peerCount} ${peerCount === 1 ? 'person' : 'people'}` : `↓ ${p.name} from ${peerName}`;
    const row = this.row(key, label);
    if (p.direction === 'send') {
      let per = this.sendProgress.get(p.id);
      if (!per) {
        per = new Map();
        this.sendProgress.set(p.id, per);
      }
      per.set(p.peerId, p.bytes);
      const done = [...per.values()].reduce((a, b) => a + b, 0);
      const total = p.size * Math.max(1, sends);
      row.bar.max = total || 1;
      row.bar.value = done;
      row.status.textContent = `${Math.floor((done / (total || 1)) * 100)}%`;
    } else {
      row.bar.max = p.size || 1;
      row.bar.value = p.bytes;
      row.status.textContent = `${formatBytes(p.bytes)} / ${formatBytes(p.size)}`;
    }
  }

  sent(id: string, name: string, failures: string[]): void {
    const row = this.rows.get(`send:${id}`) ?? this.row(`send:${id}`, `↑ ${name}`);
    row.status.textContent = failures.length ? `✗ ${failures.join('; ')}` : '✓ sent';
    row.li.classList.add(failures.length ? 'bad' : 'ok');
  }

  received(file: ReceivedFile, peerId: string, peerName: string): void {
    const row = this.row(`recv:${file.id}:${peerId}`, `↓ ${file.name} from ${peerName}`);
    row.bar.max = 1;
    row.bar.value = 1;
    row.li.classList.add(file.ok ? 'ok' : 'bad');
    row.li.dataset.sha256 = file.actualSha256;
    row.status.textContent = file.ok ? `✓ SHA-256 matches (${formatBytes(file.size)})` : '✗ SHA-256 mismatch — file damaged';
    if (file.ok) {
      const url = URL.createObjectURL(new Blob([file.bytes as Uint8Array<ArrayBuffer>]));
      row.li.append(h('a', { class: 'download', text: 'Save' }));
      const a = row.li.querySelector('a.download') as HTMLAnchorElement;
      a.href = url;
      a.download = file.name;
    }
  }

  private row(key: string, label: string): Row {
    const existing = this.rows.get(key);
    if (existing) return existing;
    const bar = h('progress');
    bar.max = 1;
    bar.value = 0;
    const status = h('span', { class: 'xfer-status' });
    const li = h('li', { class: 'transfer' }, h('div', { class: 'xfer-name', text: label }), bar, status);
    this.list.prepend(li);
    const row = { li, bar, status };
    this.rows.set(key, row);
    return row;
  }
}
