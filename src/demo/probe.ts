// The client of the demo's cluster and the e2e rig: sends a UDP probe to the VIP every interval and reports,
// as JSON lines, the first answer, every change of answering node and every gap (an outage) with its length,
// plus a periodic tick. With a slot length it also reports, every tick, which node answered in each slot
// since the last report ('' = no answer): what the demo's timeline draws.
//
//   node probe.js <vip> <port> <intervalMs> [slotMs]
import dgram from 'node:dgram';
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';

const [target = '', port = '7000', intervalArg = '2', slotArg = '0'] = process.argv.slice(2);
const interval = Number(intervalArg);
const slotMs = Number(slotArg);
const now = () => performance.timeOrigin + performance.now();
const sock = dgram.createSocket(isIP(target) === 6 ? 'udp6' : 'udp4');
const emit = (o: object) => process.stdout.write(JSON.stringify(o) + '\n');

let seq = 0;
let lastReply = 0;
let node = '';
let replies = 0;
const answeredIn = new Map<number, string>(); // slot index -> the node that answered last in it
let nextSlot = 0; // the first slot not reported yet

sock.on('message', (msg) => {
  const t = now();
  const who = msg.toString().split(' ')[0] ?? '';
  replies++;
  if (slotMs > 0) answeredIn.set(Math.floor(t / slotMs), who);
  if (lastReply === 0) emit({ type: 'first', t, node: who });
  else if (t - lastReply > 3 * interval)
    emit({ type: 'gap', from: lastReply, to: t, ms: t - lastReply, before: node, after: who });
  // The outage of a failover: last answer from the old holder to the first from the new one.
  if (node !== '' && who !== node)
    emit({ type: 'switch', t, from: node, to: who, lastReply, ms: t - lastReply });
  node = who;
  lastReply = t;
});

function reportSlots(): void {
  const done = Math.floor(now() / slotMs);
  const nodes: string[] = [];
  for (let s = nextSlot; s < done; s++) nodes.push(answeredIn.get(s) ?? '');
  for (const s of answeredIn.keys()) if (s < done) answeredIn.delete(s);
  emit({ type: 'slots', slotMs, first: nextSlot, nodes });
  nextSlot = done;
}

sock.bind(0, () => {
  setInterval(() => sock.send(String(seq++), Number(port), target, () => undefined), interval);
  setInterval(() => {
    emit({ type: 'tick', t: now(), node, lastReply, replies });
    if (slotMs > 0) reportSlots();
  }, 200);
  nextSlot = slotMs > 0 ? Math.floor(now() / slotMs) : 0;
  emit({ type: 'ready', t: now() });
});
process.on('SIGTERM', () => process.exit(0));
