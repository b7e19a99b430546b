/**
 * The UDP side of the TURN port: one socket per served address, all on one port number. A
 * datagram is ChannelData when its first byte is 0x40–0x7F (RFC 8656 §12.4; RFC 7983 puts
 * STUN at 0–3), else STUN; either goes to the dispatcher with the allocation of its 5-tuple.
 * Each socket keeps the allocation table's map of its own address, so the per-packet lookup is
 * two map reads by the strings Node already made.
 */
import type { Socket as UdpSocket } from 'node:dgram';
import type { Logger } from 'pino';
import type { BoundListener } from '../../net/multi-bind.js';
import { bindUdp, closeUdp, createUdpSocket } from '../../net/udp.js';
import { guarded } from '../../util/guarded.js';
import type { AllocationTable, UdpAllocations } from '../allocations/allocation-table.js';
import { UdpLink } from '../client-link.js';
import type { TurnCounters } from '../counters.js';
import type { TurnDispatcher } from '../dispatch/dispatcher.js';

/** Kernel buffers of a listener socket: every UDP client of one address shares it. */
const LISTENER_BUFFER_BYTES = 4 << 20;

interface UdpListener {
  address: string;
  socket: UdpSocket;
  allocations: UdpAllocations;
}

export interface UdpListenersOptions {
  dispatcher: Pick<TurnDispatcher, 'onStun' | 'onChannelData'>;
  allocations: Pick<AllocationTable, 'udpAllocations'>;
  counters: TurnCounters;
  logger?: Logger | undefined;
}

export class UdpListeners {
  private readonly listeners = new Set<UdpListener>();
  private readonly dispatcher: Pick<TurnDispatcher, 'onStun' | 'onChannelData'>;
  private readonly counters: TurnCounters;

  constructor(private readonly opts: UdpListenersOptions) {
    this.dispatcher = opts.dispatcher;
    this.counters = opts.counters;
  }

  async listen(address: string, port: number): Promise<BoundListener> {
    const socket = createUdpSocket(address, LISTENER_BUFFER_BYTES);
    const bound = await bindUdp(socket, port, address);
    const listener: UdpListener = { address, socket, allocations: this.opts.allocations.udpAllocations(address) };
    socket.on(
      'error',
      guarded('turn.udp.error', (err: Error) => this.opts.logger?.warn({ err: err.message, address }, 'turn: udp socket error')),
    );
    socket.on(
      'message',
      guarded('turn.udp.message', (msg: Buffer, rinfo: { address: string; port: number }) =>
        this.onMessage(listener, msg, rinfo.address, rinfo.port),
      ),
    );
    this.listeners.add(listener);
    return {
      port: bound,
      unbind: () => {
        this.listeners.delete(listener);
        return closeUdp(socket);
      },
    };
  }

  private onMessage(l: UdpListener, msg: Buffer, address: string, port: number): void {
    // RFC 768: source port 0 means no reply is possible (only raw sockets send it): nothing to answer.
    if (port === 0) {
      this.counters.malformed++;
      return;
    }
    const first = msg[0] as number;
    if (first >= 0x40 && first <= 0x7f) {
      // ChannelData: the per-packet path.
      this.dispatcher.onChannelData(l.allocations.get(address)?.get(port), msg);
      return;
    }
    const existing = l.allocations.get(address)?.get(port);
    this.dispatcher.onStun(msg, existing?.link ?? new UdpLink(l.socket, l.address, address, port, this.counters), existing);
  }

  async close(): Promise<void> {
    const all = [...this.listeners];
    this.listeners.clear();
    await Promise.all(all.map((l) => closeUdp(l.socket)));
  }
}
