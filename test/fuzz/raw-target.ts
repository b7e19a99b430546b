/**
 * What Node's sockets cannot send, through python3 raw sockets (test/helpers): UDP datagrams
 * from source port 0 to the TURN and RTC ports, and TCP connections that write a Binding and
 * are reset before the server accepts them.
 */
import { sendRawUdp } from '../helpers/raw-udp.js';
import { resetBurst } from '../helpers/reset-burst.js';
import { StunMessageBuilder } from '../../src/stun/builder.js';
import { StunClass, StunMethod } from '../../src/stun/constants.js';
import { mutate, pick, type Rand } from './mutate.js';

function binding(rand: Rand): Buffer {
  const b = new StunMessageBuilder(StunMethod.Binding, StunClass.Request).addFingerprint().build();
  return rand() < 0.5 ? b : mutate(rand, b);
}

export async function rawBatch(rand: Rand, ports: { turn: number; rtc: number }): Promise<number> {
  const port = pick(rand, [ports.turn, ports.rtc]);
  const count = 5;
  await sendRawUdp({ sourcePort: 0, destinationPort: port, payload: binding(rand), count });
  const resets = 20;
  const framed = port === ports.rtc ? Buffer.concat([Buffer.from([0, 28]), binding(rand).subarray(0, 28)]) : binding(rand);
  resetBurst('127.0.0.1', port, resets, framed);
  return count + resets;
}
