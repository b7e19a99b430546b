/** Chat panel: the room's chat log and input. Text is always inserted as text, never as HTML. */
import type { ChatMessage } from '../client/index.js';
import { byId, h } from './dom.js';

export class ChatPanel {
  private readonly log = byId<HTMLOListElement>('chat-log');
  private readonly input = byId<HTMLInputElement>('chat-input');

  constructor(onSend: (text: string) => void) {
    byId<HTMLFormElement>('chat-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const text = this.input.value.trim();
      if (!text) return;
      onSend(text);
      this.input.value = '';
    });
  }

  add(msg: ChatMessage): void {
    const time = new Date(msg.at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    const li = h(
      'li',
      { class: msg.local ? 'mine' : '' },
      h('div', { class: 'meta' }, h('strong', { text: msg.local ? 'You' : msg.name }), h('time', { text: time })),
      h('div', { class: 'text', text: msg.text }),
    );
    this.log.append(li);
    this.log.scrollTop = this.log.scrollHeight;
  }

  system(text: string): void {
    this.log.append(h('li', { class: 'system', text }));
    this.log.scrollTop = this.log.scrollHeight;
  }
}
