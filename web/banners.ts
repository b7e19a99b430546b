/** Dismissable banners at the top of the page (permission problems, reconnecting, errors). */
import { byId, h } from './dom.js';

export type BannerKind = 'error' | 'warn' | 'info';

export function showBanner(key: string, kind: BannerKind, text: string, action?: { label: string; run: () => void }): void {
  hideBanner(key);
  const close = h('button', { class: 'banner-close', title: 'Dismiss', 'aria-label': 'Dismiss', text: '×' });
  const el = h(
    'div',
    { class: `banner ${kind}`, 'data-banner': key, role: kind === 'error' ? 'alert' : 'status' },
    h('span', { class: 'banner-text', text }),
    action ? h('button', { class: 'banner-action', text: action.label }) : null,
    close,
  );
  if (action)
    el.querySelector('.banner-action')?.addEventListener('click', () => {
      action.run();
      el.remove();
    });
  close.addEventListener('click', () => el.remove());
  byId('banners').append(el);
}

export function hideBanner(key: string): void {
  document.querySelector(`[data-banner="${CSS.escape(key)}"]`)?.remove();
}
