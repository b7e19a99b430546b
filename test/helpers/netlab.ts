/**
 * A NAT lab made of network namespaces (../shared/DESIGN.md, "Network tests"): an "internet"
 * namespace with a bridge on 198.18.0.0/24, and per home a NAT namespace (WAN on the bridge,
 * LAN 198.19.N.1/24) plus a host namespace (198.19.N.2) behind it. Only the benchmarking
 * range 198.18.0.0/15 (RFC 2544) is used; the lab has no link to the machine's own network.
 *
 * NAT types:
 *  - 'cone': MASQUERADE → port-restricted cone (endpoint-independent mapping, and
 *    address+port-dependent filtering because conntrack only lets replies in);
 *  - 'symmetric': MASQUERADE --random-fully → a new port per destination.
 * Each NAT drops unsolicited inbound packets addressed to itself, as home routers do;
 * otherwise Linux would pick a fresh port when a probe arrives first and a cone NAT would
 * behave as a symmetric one.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';

export type NatType = 'cone' | 'symmetric';

export interface HomeSpec {
  nat: NatType;
  /** Extra iptables rules for the NAT namespace's FORWARD chain (e.g. block outbound UDP). */
  forwardRules?: string[][];
}

export interface Home {
  index: number;
  /** Namespace of the host behind the NAT (where a browser or client runs). */
  hostNs: string;
  natNs: string;
  hostIp: string;
  /** The NAT's public address on the "internet" bridge. */
  wanIp: string;
}

export interface NatLab {
  /** Namespace of the "internet": servers run here. */
  inetNs: string;
  /** The internet namespace's own address (run servers on it). */
  inetIp: string;
  homes: Home[];
  /** Runs a command inside a namespace and returns its stdout. */
  exec(ns: string, cmd: string, args: string[]): string;
  /** Starts a long-running process inside a namespace (killed by `destroy`). */
  spawn(ns: string, cmd: string, args: string[]): ChildProcess;
  destroy(): void;
}

export const LAB_INET_IP = '198.18.0.1';

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
}

/** True when this process may create namespaces (root with iproute2 and iptables). */
export function netlabAvailable(): boolean {
  try {
    run('ip', ['netns', 'list']);
    run('iptables', ['-w', '-L', '-n']);
    return process.getuid?.() === 0;
  } catch {
    return false;
  }
}

export function createNatLab(homes: HomeSpec[]): NatLab {
  // Short unique suffix: interface names are limited to 15 characters.
  const tag = (process.pid % 100000).toString(36) + Math.floor(Math.random() * 1296).toString(36);
  const inetNs = `sbinet-${tag}`;
  const created: string[] = [];
  const children: ChildProcess[] = [];
  const nsExec = (ns: string, ...args: string[]): string => run('ip', ['netns', 'exec', ns, ...args]);

  const addNs = (ns: string): void => {
    run('ip', ['netns', 'add', ns]);
    created.push(ns);
    // No DNS query may try to leave the lab.
    mkdirSync(`/etc/netns/${ns}`, { recursive: true });
    writeFileSync(`/etc/netns/${ns}/resolv.conf`, 'nameserver 127.0.0.1\n');
    nsExec(ns, 'ip', 'link', 'set', 'lo', 'up');
  };

  const lab: NatLab = {
    inetNs,
    inetIp: LAB_INET_IP,
    homes: [],
    exec: (ns, cmd, args) => nsExec(ns, cmd, ...args),
    spawn(ns, cmd, args) {
      const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(child);
      return child;
    },
    destroy() {
      for (const c of children) c.kill('SIGKILL');
      for (const ns of created.reverse()) {
        try {
          run('ip', ['netns', 'delete', ns]);
        } catch {
          /* already gone */
        }
        rmSync(`/etc/netns/${ns}`, { recursive: true, force: true });
      }
      created.length = 0;
    },
  };

  try {
    addNs(inetNs);
    nsExec(inetNs, 'ip', 'link', 'add', 'br0', 'type', 'bridge');
    nsExec(inetNs, 'ip', 'addr', 'add', `${LAB_INET_IP}/24`, 'dev', 'br0');
    nsExec(inetNs, 'ip', 'link', 'set', 'br0', 'up');
    // Every internet host has a default route: a packet to a private address leaves and is
    // lost instead of failing locally with ENETUNREACH.
    nsExec(inetNs, 'ip', 'route', 'add', 'default', 'dev', 'br0');

    homes.forEach((spec, i) => {
      const n = i + 1;
      const natNs = `sbnat${n}-${tag}`;
      const hostNs = `sbhome${n}-${tag}`;
      const wanIp = `198.18.0.${10 + n}`;
      const lanGw = `198.19.${n}.1`;
      const hostIp = `198.19.${n}.2`;
      addNs(natNs);
      addNs(hostNs);
      // WAN: natNs "wan" ↔ inetNs "w<n>-<tag>" on the bridge.
      run('ip', ['link', 'add', `sbw${n}${tag}`, 'type', 'veth', 'peer', 'name', `sbx${n}${tag}`]);
      run('ip', ['link', 'set', `sbw${n}${tag}`, 'netns', natNs]);
      run('ip', ['link', 'set', `sbx${n}${tag}`, 'netns', inetNs]);
      nsExec(natNs, 'ip', 'link', 'set', `sbw${n}${tag}`, 'name', 'wan');
      nsExec(inetNs, 'ip', 'link', 'set', `sbx${n}${tag}`, 'master', 'br0');
      nsExec(inetNs, 'ip', 'link', 'set', `sbx${n}${tag}`, 'up');
      nsExec(natNs, 'ip', 'addr', 'add', `${wanIp}/24`, 'dev', 'wan');
      nsExec(natNs, 'ip', 'link', 'set', 'wan', 'up');
      nsExec(natNs, 'ip', 'route', 'add', 'default', 'via', LAB_INET_IP);
      // LAN: natNs "lan" ↔ hostNs "eth0".
      run('ip', ['link', 'add', `sbl${n}${tag}`, 'type', 'veth', 'peer', 'name', `sbh${n}${tag}`]);
      run('ip', ['link', 'set', `sbl${n}${tag}`, 'netns', natNs]);
      run('ip', ['link', 'set', `sbh${n}${tag}`, 'netns', hostNs]);
      nsExec(natNs, 'ip', 'link', 'set', `sbl${n}${tag}`, 'name', 'lan');
      nsExec(hostNs, 'ip', 'link', 'set', `sbh${n}${tag}`, 'name', 'eth0');
      nsExec(natNs, 'ip', 'addr', 'add', `${lanGw}/24`, 'dev', 'lan');
      nsExec(natNs, 'ip', 'link', 'set', 'lan', 'up');
      nsExec(hostNs, 'ip', 'addr', 'add', `${hostIp}/24`, 'dev', 'eth0');
      nsExec(hostNs, 'ip', 'link', 'set', 'eth0', 'up');
      nsExec(hostNs, 'ip', 'route', 'add', 'default', 'via', lanGw);
      // The NAT itself.
      nsExec(natNs, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1');
      const masq = ['iptables', '-w', '-t', 'nat', '-A', 'POSTROUTING', '-o', 'wan', '-j', 'MASQUERADE'];
      nsExec(natNs, ...(spec.nat === 'symmetric' ? [...masq, '--random-fully'] : masq));
      nsExec(natNs, 'iptables', '-w', '-A', 'INPUT', '-i', 'wan', '-m', 'conntrack', '--ctstate', 'NEW', '-j', 'DROP');
      for (const rule of spec.forwardRules ?? []) nsExec(natNs, 'iptables', '-w', '-A', 'FORWARD', ...rule);
      lab.homes.push({ index: n, hostNs, natNs, hostIp, wanIp });
    });
  } catch (err) {
    lab.destroy();
    throw err;
  }
  return lab;
}
