// The BGP announcer (the VipProvider of BGP mode) with the real speaker against a scripted peer: it announces
// only while leading, also after a reconnect, withdraws on release, and on shutdown refuses to report the
// VIP gone while a withdraw is still queued.
import { netDialer } from '../../src/bgp/dial.js';
import { BgpAnnouncer, WithdrawNotWrittenError } from '../../src/bgp/provider.js';
import { BgpSpeaker, type FlushResult } from '../../src/bgp/speaker.js';
import { NotLeadingError } from '../../src/vip/provider.js';
import { ScriptedPeer } from './scripted-peer.js';

const log = { debug() {}, info() {}, warn() {}, error() {} };
let peer: ScriptedPeer;
let speaker: BgpSpeaker;
let leading = false;

beforeEach(async () => {
  peer = await ScriptedPeer.start();
  peer.autoOpen = { as: 64512, holdTime: 9 };
  leading = false;
  speaker = new BgpSpeaker({
    config: {
      localAs: 64513,
      routerId: '198.51.100.2',
      peers: [{ address: '127.0.0.1', port: peer.port, peerAs: 64512, holdTimeS: 9, keepaliveS: 3 }],
    },
    dial: netDialer,
    log,
    mayAnnounce: () => leading,
    backoffInitialMs: 20,
  });
});

afterEach(async () => {
  await speaker.close(200);
  await peer.close();
});

const announcer = () =>
  new BgpAnnouncer({ speaker, prefix: '203.0.113.100/32', leadingNow: () => leading, log });

async function established(): Promise<void> {
  await peer.waitFor('Established', () => speaker.states()[0]?.state === 'established');
  await peer.nextKeepalive();
}

describe('the BGP announcer', () => {
  it('opens the sessions at prepare and announces nothing until it leads', async () => {
    const a = announcer();
    await a.prepare();
    await established();
    await expect(a.acquire()).rejects.toThrow(NotLeadingError);
    await a.reconcile();
    expect(peer.of('update')).toHaveLength(0);
    leading = true;
    await a.acquire();
    await peer.waitFor('the announcement', () => peer.of('update').length === 1);
  });

  it('after a reconnect re-sends the route while leading, and not once leadership is gone', async () => {
    const a = announcer();
    await a.prepare();
    leading = true;
    await a.acquire();
    await peer.waitFor('the announcement', () => peer.of('update').length === 1);
    peer.drop();
    await peer.waitFor(
      'the second announcement',
      () => peer.connections === 2 && peer.of('update').length === 2,
    );
    // the lease ran out, and the connection drops before the service has called release
    leading = false;
    peer.drop();
    await peer.waitFor('a third connection', () => peer.connections === 3);
    await established();
    await a.reconcile();
    expect(peer.of('update')).toHaveLength(2);
  });

  it('release on shutdown writes the withdraw to every established session before it returns', async () => {
    const a = announcer();
    await a.prepare();
    leading = true;
    await a.acquire();
    await peer.waitFor('the announcement', () => peer.of('update').length === 1);
    await a.release('shutdown');
    await peer.waitFor('the withdraw', () => peer.of('update').length === 2);
    expect(peer.of('update')[1]).toMatchObject({ withdrawn: ['203.0.113.100/32'] });
    await a.close();
    await peer.waitFor('the Cease', () => peer.of('notification').some((n) => n.code === 6));
  });

  it('release on shutdown fails when a withdraw is still queued after the bound', async () => {
    const stuck = {
      setRoutes: () => undefined,
      flushed: async (): Promise<FlushResult> => ({
        written: [],
        pending: ['198.51.100.1'],
        down: [],
        waited: true,
      }),
    } as unknown as BgpSpeaker;
    const a = new BgpAnnouncer({ speaker: stuck, prefix: '203.0.113.100/32', leadingNow: () => true, log });
    await expect(a.release('shutdown')).rejects.toThrow(WithdrawNotWrittenError);
    await expect(a.release('lost')).resolves.toBeUndefined();
  });
});
