/**
 * The 1:1 call panel: your identity, a field to call someone, the incoming-call dialog
 * (Accept / Reject: a call is never accepted without the user's click), Cancel / Hang up, status.
 */
import type { CallClient, CallState } from '../client/index.js';
import type { CallEndReason } from '../src/protocol/index.js';
import { byId } from './dom.js';

export interface CallPanelActions {
  call(identity: string): void;
  accept(): void;
  reject(): void;
  cancel(): void;
  hangup(): void;
}

const END_TEXT: Record<CallEndReason, string> = {
  rejected: 'Call rejected',
  cancelled: 'Call cancelled',
  timeout: 'No answer (timed out)',
  hangup: 'Call ended',
  busy: 'Busy — they are in another call',
  disconnected: 'Call dropped (disconnected)',
};

export class CallPanel {
  private readonly status = byId('call-status');
  private readonly cancelBtn = byId<HTMLButtonElement>('call-cancel');
  private readonly hangupBtn = byId<HTMLButtonElement>('call-hangup');
  private readonly startBtn = byId<HTMLButtonElement>('call-start');
  private readonly dialog = byId<HTMLDialogElement>('incoming-call');
  /** Who we are dialling, shown until the server returns the callee's details. */
  target = '';

  constructor(
    private readonly calls: CallClient,
    actions: CallPanelActions,
  ) {
    const input = byId<HTMLInputElement>('call-to');
    byId<HTMLFormElement>('call-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const to = input.value.trim();
      if (!to) return;
      this.target = to;
      actions.call(to);
    });
    byId('call-accept').addEventListener('click', () => {
      this.closeDialog();
      actions.accept();
    });
    byId('call-reject').addEventListener('click', () => {
      this.closeDialog();
      actions.reject();
    });
    // Escape on the dialog means "not now": treat it as a reject so the caller is not left ringing.
    this.dialog.addEventListener('cancel', (ev) => {
      ev.preventDefault();
      this.closeDialog();
      actions.reject();
    });
    this.cancelBtn.addEventListener('click', () => actions.cancel());
    this.hangupBtn.addEventListener('click', () => actions.hangup());

    calls.on('state', (s) => this.render(s));
    calls.on('incoming', (c) => {
      byId('incoming-from').textContent = `${c.peer.name || c.peer.identity} (${c.peer.identity})`;
      if (!this.dialog.open) this.dialog.showModal();
    });
    calls.on('ended', (e) => {
      this.closeDialog();
      this.setStatus(END_TEXT[e.reason] ?? `Call ended (${e.reason})`, `ended-${e.reason}`);
    });
    calls.on('connection-state', (s) => {
      if (calls.state === 'connecting' || calls.state === 'connected')
        this.setStatus(`In call with ${this.peerLabel()} — ${s}`, calls.state);
    });
  }

  setIdentity(identity: string): void {
    byId('call-identity').textContent = identity;
  }

  error(text: string): void {
    this.setStatus(text, 'error');
  }

  private render(s: CallState): void {
    this.cancelBtn.hidden = s !== 'outgoing';
    this.hangupBtn.hidden = s !== 'connecting' && s !== 'connected';
    this.startBtn.disabled = s !== 'idle';
    switch (s) {
      case 'outgoing':
        this.setStatus(`Calling ${this.peerLabel()}…`, s);
        break;
      case 'incoming':
        this.setStatus(`Incoming call from ${this.peerLabel()}`, s);
        break;
      case 'connecting':
        this.setStatus(`Connecting to ${this.peerLabel()}…`, s);
        break;
      case 'connected':
        this.setStatus(`In call with ${this.peerLabel()}`, s);
        break;
      case 'idle':
        break; // the `ended` handler says why
    }
  }

  private peerLabel(): string {
    const p = this.calls.currentCall?.peer;
    return p ? p.name || p.identity : this.target || '…';
  }

  private setStatus(text: string, state: string): void {
    this.status.textContent = text;
    this.status.dataset.state = state;
  }

  private closeDialog(): void {
    if (this.dialog.open) this.dialog.close();
  }
}
