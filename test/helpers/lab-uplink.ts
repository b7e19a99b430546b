/**
 * A link from this process's own network namespace onto a NAT lab's "internet" bridge
 * (./netlab.ts), so a server started in-process — whose Producer and Consumer objects a test
 * can inspect — is reachable from the lab's homes.
 *
 * The root side gets one /32 address on the lab's 198.18.0.0/24 and one /32 route per home's
 * NAT (its WAN address), nothing wider: the machine's own routing is otherwise untouched, and
 * no other lab address is routed out of this namespace. The homes' NATs see the address as
 * on-link (their WAN is a /24) and reach it by ARP across the bridge.
 */
import { execFileSync } from 'node:child_process';
import type { Home, NatLab } from './netlab.js';

/** This namespace's address on the lab's internet (198.18.0.1 is the lab's, .11+ its NATs'). */
export const LAB_UPLINK_IP = '198.18.0.250';

export interface LabUplink {
  ip: string;
  /** Removes the link (and with it the address and routes). Safe to call twice. */
  close(): void;
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
}

export function attachToLab(lab: NatLab, homes: readonly Home[]): LabUplink {
  // Interface names are limited to 15 characters.
  const tag = (process.pid % 100000).toString(36) + Math.floor(Math.random() * 1296).toString(36);
  const here = `sbup${tag}`;
  const there = `sbuq${tag}`;
  let open = true;
  const close = (): void => {
    if (!open) return;
    open = false;
    // Deleting one end of a veth pair deletes both; the namespace's end may already be gone.
    try {
      ip('link', 'delete', here);
    } catch {
      /* gone with the lab */
    }
  };
  try {
    ip('link', 'add', here, 'type', 'veth', 'peer', 'name', there);
    ip('link', 'set', there, 'netns', lab.inetNs);
    lab.exec(lab.inetNs, 'ip', ['link', 'set', there, 'master', 'br0']);
    lab.exec(lab.inetNs, 'ip', ['link', 'set', there, 'up']);
    ip('addr', 'add', `${LAB_UPLINK_IP}/32`, 'dev', here);
    ip('link', 'set', here, 'up');
    for (const home of homes) ip('route', 'add', `${home.wanIp}/32`, 'dev', here, 'src', LAB_UPLINK_IP);
  } catch (err) {
    close();
    throw err;
  }
  return { ip: LAB_UPLINK_IP, close };
}
