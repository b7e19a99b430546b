/**
 * Random packet loss on what a lab router (./netlab.ts: a NAT namespace) forwards out of one
 * of its interfaces — a lossy wire behind it.
 *
 * `tc qdisc add dev IF root netem loss P%` where the kernel has netem (../shared/DESIGN.md,
 * "Network tests"). Some kernels are built without sch_netem; there the same loss model —
 * each packet dropped independently with probability P, netem's default — comes from
 * iptables' `statistic --mode random` match in FORWARD. Only forwarded packets: a packet that
 * OUTPUT drops fails its sender's send() with EPERM, which a wire never does, and a sender
 * told so can try again. Either way `counts()` says how many packets went out and how many
 * were dropped, so a test can show that its loss was real.
 */
import type { NatLab } from './netlab.js';

export interface LinkLoss {
  readonly method: 'netem' | 'iptables';
  /** Packets offered to the interface so far, and how many of them were dropped. */
  counts(): { packets: number; dropped: number };
  /** Removes the loss. Safe to call twice, and after the namespace is gone. */
  remove(): void;
}

export function addLoss(lab: NatLab, ns: string, dev: string, percent: number): LinkLoss {
  try {
    lab.exec(ns, 'tc', ['qdisc', 'add', 'dev', dev, 'root', 'netem', 'loss', `${percent}%`]);
  } catch (err) {
    if (!/unknown/i.test(String((err as { stderr?: unknown }).stderr ?? err))) throw err;
    return iptablesLoss(lab, ns, dev, percent);
  }
  return {
    method: 'netem',
    counts() {
      // "Sent 123 bytes 4 pkt (dropped 5, overlimits 0 requeues 0)": sent excludes drops.
      const out = lab.exec(ns, 'tc', ['-s', 'qdisc', 'show', 'dev', dev]);
      const m = /Sent \d+ bytes (\d+) pkt \(dropped (\d+)/.exec(out);
      if (!m) throw new Error(`unexpected tc output: ${out}`);
      const dropped = Number(m[2]);
      return { packets: Number(m[1]) + dropped, dropped };
    },
    remove() {
      try {
        lab.exec(ns, 'tc', ['qdisc', 'del', 'dev', dev, 'root']);
      } catch {
        /* already gone */
      }
    },
  };
}

function iptablesLoss(lab: NatLab, ns: string, dev: string, percent: number): LinkLoss {
  const chain = `SB_LOSS_${dev}`.slice(0, 28);
  const ipt = (...args: string[]): string => lab.exec(ns, 'iptables', ['-w', ...args]);
  ipt('-N', chain);
  ipt('-A', chain, '-m', 'statistic', '--mode', 'random', '--probability', String(percent / 100), '-j', 'DROP');
  ipt('-I', 'FORWARD', '-o', dev, '-j', chain);
  /** Packet counter (`-v -x`: exact) of the first rule in `listing` that mentions `match`. */
  const rulePackets = (listing: string, match: RegExp): number => {
    const line = listing.split('\n').find((l) => /^\s*\d+\s+\d+\s/.test(l) && match.test(l));
    return line ? Number(line.trim().split(/\s+/)[0]) : 0;
  };
  return {
    method: 'iptables',
    counts() {
      return {
        packets: rulePackets(ipt('-L', 'FORWARD', '-v', '-x', '-n'), new RegExp(`\\b${chain}\\b`)),
        dropped: rulePackets(ipt('-L', chain, '-v', '-x', '-n'), /DROP/),
      };
    },
    remove() {
      try {
        ipt('-D', 'FORWARD', '-o', dev, '-j', chain);
      } catch {
        /* already gone */
      }
      try {
        ipt('-F', chain);
        ipt('-X', chain);
      } catch {
        /* already gone */
      }
    },
  };
}
