// The session's state machine against a scripted peer on loopback: each rule seen from the peer's side
// (what it receives, and when the connection goes).
import { netDialer } from '../../src/bgp/dial.js';
import { Session, type SessionOptions } from '../../src/bgp/session.js';
import type { PeerConfig } from '../../src/bgp/config.js';
import { encodeKeepalive, encodeNotification, encodeOpen } from '../../src/bgp/wire.js';
import { ScriptedPeer } from './scripted-peer.js';

interface LogLine {
  level: string;
  msg: string;
  fields: object;
}

function recorder(): { log: SessionOptions['log']; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: string) => (fields: object, msg: string) => lines.push({ level, msg, fields });
  return { log: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, lines };
}

/** ROUTE-REFRESH for IPv4 unicast (RFC 2918). */
const ROUTE_REFRESH = Buffer.from(`${'ff'.repeat(16)}00170500010001`, 'hex');

let peer: ScriptedPeer;
const sessions: Session[] = [];

afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.close(200)));
  await peer.close();
});

function session(over: Partial<SessionOptions> & { peerConfig?: Partial<PeerConfig> } = {}) {
  const rec = recorder();
  const s = new Session({
    peer: {
      address: '127.0.0.1',
      port: peer.port,
      peerAs: 64512,
      holdTimeS: 9,
      keepaliveS: 3,
      ...over.peerConfig,
    },
    localAs: 64513,
    routerId: '198.51.100.2',
    dial: netDialer,
    log: rec.log,
    mayAnnounce: () => true,
    backoffInitialMs: 20,
    backoffMaxMs: 80,
    connectTimeoutMs: 2000,
    ...over,
  });
  sessions.push(s);
  return { s, lines: rec.lines };
}

describe('a BGP session', () => {
  beforeEach(async () => {
    peer = await ScriptedPeer.start();
    peer.autoOpen = { as: 64512, holdTime: 9 };
  });

  it('sends its OPEN first, reaches Established, announces and withdraws', async () => {
    peer.autoOpen = null;
    peer.autoKeepalive = false;
    const { s } = session();
    s.setRoutes(['203.0.113.100/32']);
    s.start();
    await peer.waitFor('our OPEN', () => peer.of('open').length === 1);
    expect(peer.of('open')[0]).toMatchObject({ myAs: 64513, holdTime: 9, bgpId: '198.51.100.2', as4: 64513 });
    expect(peer.of('update')).toHaveLength(0); // nothing before Established
    peer.send(encodeOpen({ localAs: 64512, holdTime: 9, routerId: '198.51.100.1' }));
    await peer.waitFor('our KEEPALIVE (OpenConfirm)', () => peer.of('keepalive').length === 1);
    expect(s.state).toBe('open-confirm');
    peer.send(encodeKeepalive());
    await peer.waitFor('the announcement', () => peer.of('update').length === 1);
    expect(s.state).toBe('established');
    expect(peer.of('update')[0]).toMatchObject({ announced: ['203.0.113.100/32'], withdrawn: [] });
    s.setRoutes([]);
    await peer.waitFor('the withdraw', () => peer.of('update').length === 2);
    expect(peer.of('update')[1]).toMatchObject({ announced: [], withdrawn: ['203.0.113.100/32'] });
  });

  it('announces nothing while mayAnnounce says no, and announces once it says yes and is asked again', async () => {
    let may = false;
    const { s } = session({ mayAnnounce: () => may });
    s.setRoutes(['203.0.113.100/32']);
    s.start();
    await peer.waitFor('Established', () => s.state === 'established');
    await peer.nextKeepalive(); // anything sent before it has arrived
    expect(peer.of('update')).toHaveLength(0);
    may = true;
    s.setRoutes(['203.0.113.100/32']);
    await peer.waitFor('the announcement', () => peer.of('update').length === 1);
  });

  it('re-sends what is wanted after the connection drops and comes back', async () => {
    const { s } = session();
    s.setRoutes(['203.0.113.100/32']);
    s.start();
    await peer.waitFor('the announcement', () => peer.of('update').length === 1);
    peer.drop();
    await peer.waitFor('a second connection', () => peer.connections === 2);
    await peer.waitFor('the announcement again', () => peer.of('update').length === 2);
    expect(peer.of('update')[1]).toMatchObject({ announced: ['203.0.113.100/32'] });
  });

  it('a ROUTE-REFRESH gets what is announced again, only while announcing is allowed; the withdraw still follows', async () => {
    let may = true;
    const { s } = session({ mayAnnounce: () => may });
    s.setRoutes(['203.0.113.100/32']);
    s.start();
    await peer.waitFor('the announcement', () => peer.of('update').length === 1);
    peer.send(ROUTE_REFRESH);
    await peer.waitFor('the announcement again', () => peer.of('update').length === 2);
    may = false; // leadership ended; the service has not released yet
    peer.send(ROUTE_REFRESH);
    await peer.nextKeepalive();
    expect(peer.of('update')).toHaveLength(2);
    s.setRoutes([]);
    await peer.waitFor('the withdraw', () => peer.of('update').length === 3);
    expect(peer.of('update')[2]).toMatchObject({ withdrawn: ['203.0.113.100/32'] });
  });

  it('answers a peer OPEN with the wrong AS with Bad Peer AS, names it in the log once, and retries', async () => {
    peer.autoOpen = { as: 64999, holdTime: 9 };
    const { s, lines } = session();
    s.start();
    await peer.waitFor('3 connections', () => peer.connections >= 3);
    await peer.waitFor('the notifications', () => peer.of('notification').length >= 2);
    expect(peer.of('notification')[0]).toMatchObject({ code: 2, subcode: 2 });
    const warns = lines.filter((l) => l.level === 'warn');
    expect(warns).toHaveLength(1);
    expect(warns[0]?.msg).toContain('Bad Peer AS');
    expect(warns[0]?.msg).toContain('the peer is AS 64999, but it is configured as AS 64512');
  });

  it('logs a NOTIFICATION from the peer by name, with what to check', async () => {
    peer.autoOpen = null;
    peer.autoKeepalive = false;
    const { s, lines } = session();
    s.start();
    await peer.waitFor('our OPEN', () => peer.of('open').length === 1);
    peer.send(encodeNotification(2, 2));
    await peer.waitFor('the warning', () => lines.some((l) => l.level === 'warn'));
    expect(lines.find((l) => l.level === 'warn')?.msg).toMatch(/Bad Peer AS \(2\/2\).*--localAS/);
  });

  it('enforces the receive hold timer: a silent peer gets Hold Timer Expired and a new connection', async () => {
    peer.autoOpen = { as: 64512, holdTime: 3 };
    const { s } = session();
    s.start();
    await peer.waitFor('Established', () => s.state === 'established');
    // the peer sends nothing more
    await peer.waitFor('Hold Timer Expired', () => peer.of('notification').some((n) => n.code === 4), 10_000);
    await peer.waitFor('a reconnect', () => peer.connections === 2, 10_000);
  });

  it('stays up while the peer keeps it alive, sending its own keepalives at a third of the hold time', async () => {
    peer.autoOpen = { as: 64512, holdTime: 3 };
    const { s } = session();
    s.start();
    await peer.waitFor('Established', () => s.state === 'established');
    const timer = setInterval(() => peer.send(encodeKeepalive()), 500);
    try {
      // 7 keepalives at one a second take longer than two hold times
      await peer.waitFor('7 keepalives', () => peer.of('keepalive').length >= 8, 15_000);
    } finally {
      clearInterval(timer);
    }
    expect(peer.connections).toBe(1);
    expect(peer.of('notification')).toHaveLength(0);
  });

  it('answers garbage with a header-error NOTIFICATION and reconnects, without throwing', async () => {
    const { s } = session();
    s.start();
    await peer.waitFor('Established', () => s.state === 'established');
    peer.send(Buffer.alloc(40, 0x17));
    await peer.waitFor('the notification', () => peer.of('notification').length === 1);
    expect(peer.of('notification')[0]).toMatchObject({ code: 1, subcode: 1 });
    await peer.waitFor('a reconnect', () => peer.connections === 2);
  });

  it('treats a KEEPALIVE before the peer OPEN as a state machine error', async () => {
    peer.autoOpen = null;
    const { s } = session(); // the scripted peer answers our OPEN with a KEEPALIVE only
    s.start();
    await peer.waitFor('the notification', () => peer.of('notification').length === 1);
    expect(peer.of('notification')[0]).toMatchObject({ code: 5, subcode: 1 });
  });

  it('treats a second OPEN in Established as a state machine error', async () => {
    const { s } = session();
    s.start();
    await peer.waitFor('Established', () => s.state === 'established');
    peer.send(encodeOpen({ localAs: 64512, holdTime: 9, routerId: '198.51.100.1' }));
    await peer.waitFor('the notification', () => peer.of('notification').length === 1);
    expect(peer.of('notification')[0]).toMatchObject({ code: 5, subcode: 3 });
  });

  it('close sends Cease / Administrative Shutdown and does not reconnect', async () => {
    const { s } = session();
    s.start();
    await peer.waitFor('Established', () => s.state === 'established');
    await s.close(1000);
    await peer.waitFor('the Cease', () => peer.of('notification').length === 1);
    expect(peer.of('notification')[0]).toMatchObject({ code: 6, subcode: 2 });
    await peer.waitFor('the connection closed', () => peer.closedByRemote === 1);
    expect(s.state).toBe('idle');
    expect(peer.connections).toBe(1);
  });

  it('backs off with jitter up to its cap, logging a refused connect once', async () => {
    const port = peer.port;
    await peer.close();
    peer = await ScriptedPeer.start(); // another port; the old one refuses
    const { s, lines } = session({ peerConfig: { port }, random: () => 1 });
    s.start();
    const retries = () =>
      lines.map((l) => (l.fields as { retryInMs?: number }).retryInMs).filter((n) => n !== undefined);
    await peer.waitFor('5 attempts', () => retries().length >= 5);
    expect(retries().slice(0, 5)).toEqual([20, 40, 80, 80, 80]);
    expect(lines.filter((l) => l.level === 'warn')).toHaveLength(1);
    expect(lines.find((l) => l.level === 'warn')?.msg).toContain('refused the connection');
  });
});

describe('a BGP session to a peer that offers IPv4 unicast only', () => {
  beforeEach(async () => {
    peer = await ScriptedPeer.start('::1');
    peer.autoOpen = { as: 64512, holdTime: 9, families: [4] };
  });

  it('does not send an IPv6 route it would reject, and says which address family to activate', async () => {
    const { s, lines } = session({ peerConfig: { address: '::1' } });
    s.setRoutes(['2001:db8::100/128']);
    s.start();
    await peer.waitFor('Established', () => s.state === 'established');
    await peer.nextKeepalive();
    expect(peer.of('update')).toHaveLength(0);
    const warns = lines.filter((l) => l.level === 'warn');
    expect(warns.map((w) => w.msg)).toEqual([expect.stringContaining('did not offer IPv6 unicast')]);
  });
});

describe('a BGP session over IPv6', () => {
  beforeEach(async () => {
    peer = await ScriptedPeer.start('::1');
    peer.autoOpen = { as: 64512, holdTime: 9 };
  });

  it('announces an IPv6 VIP in MP_REACH_NLRI', async () => {
    const { s } = session({ peerConfig: { address: '::1' } });
    s.setRoutes(['2001:db8::100/128']);
    s.start();
    await peer.waitFor('the announcement', () => peer.of('update').length === 1);
    expect(peer.of('update')[0]).toMatchObject({
      announced: ['2001:db8::100/128'],
      attributeTypes: [1, 2, 14],
    });
  });
});
