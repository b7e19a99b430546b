/**
 * A firewall chain of a test's own, for IPv4 and IPv6 at once (browsers may pair over either):
 * rules go into the chain, the chain is hooked into INPUT/OUTPUT, and `remove()` unhooks and
 * deletes it whatever state it is in — call it before (a crashed earlier run) and after.
 */
import { execFileSync } from 'node:child_process';

const TOOLS = ['iptables', 'ip6tables'] as const;
const HOOKS = ['INPUT', 'OUTPUT'] as const;

export class IptablesChain {
  constructor(readonly name: string) {}

  create(): void {
    run('-N', this.name);
  }

  /** Appends a rule: `chain.append('-p', 'udp', '--dport', '40000', '-j', 'DROP')`. */
  append(...rule: string[]): void {
    run('-A', this.name, ...rule);
  }

  hook(hook: (typeof HOOKS)[number]): void {
    run('-I', hook, '-j', this.name);
  }

  remove(): void {
    for (const tool of TOOLS) {
      for (const hook of HOOKS) {
        try {
          execFileSync(tool, ['-w', '-D', hook, '-j', this.name], { stdio: 'pipe' });
        } catch {
          /* not hooked */
        }
      }
      try {
        execFileSync(tool, ['-w', '-F', this.name], { stdio: 'pipe' });
        execFileSync(tool, ['-w', '-X', this.name], { stdio: 'pipe' });
      } catch {
        /* not there */
      }
    }
  }
}

function run(...args: string[]): void {
  for (const tool of TOOLS) execFileSync(tool, ['-w', ...args], { stdio: 'pipe' });
}
