// The captured fixtures (test/bgp/fixtures) are whole, well-formed BGP messages, each described in
// index.json, and say what their names say: a check on the capture and on the loader, not on src/bgp.
import { fixture, fixtureInfo, fixtureNames, fixtureTrigger } from './fixtures/index.js';

const TYPES: Record<string, number> = { open: 1, update: 2, eor: 2, notification: 3, keepalive: 4 };

describe('captured BGP fixtures', () => {
  const names = fixtureNames();

  it('has each daemon’s OPEN, KEEPALIVE, an UPDATE, Bad Peer AS and a Cease', () => {
    for (const d of ['gobgp', 'bird', 'frr'] as const) {
      const mine = fixtureNames(d);
      for (const what of ['open', 'keepalive', 'update-ipv4', 'update-ipv6', 'notification-bad-peer-as'])
        expect(mine).toContain(`${d}-${what}`);
      expect(mine.some((n) => n.startsWith(`${d}-notification-cease`))).toBe(true);
    }
  });

  it.each(names)('%s is one whole message of the type its name says', (name) => {
    const m = fixture(name);
    expect(m.subarray(0, 16).equals(Buffer.alloc(16, 0xff))).toBe(true);
    expect(m.readUInt16BE(16)).toBe(m.length);
    const kind = name.split('-')[1] as string;
    expect(m.readUInt8(18)).toBe(TYPES[kind]);
    const info = fixtureInfo(name);
    expect(name.startsWith(`${info.daemon}-`)).toBe(true);
    expect(info.summary.split(' ')[0]).toBe(kind === 'eor' ? 'UPDATE' : kind.toUpperCase());
  });

  it('NOTIFICATIONs carry the codes their names say', () => {
    const expected: Record<string, [number, number]> = {
      'bad-peer-as': [2, 2],
      'hold-time': [2, 6],
      'hold-expired': [4, 0],
      'cease-admin': [6, 2],
    };
    for (const name of names) {
      const what = /^[a-z]+-notification-(.+)$/.exec(name)?.[1];
      if (!what) continue;
      const m = fixture(name);
      if (what.startsWith('cease')) expect(m.readUInt8(19)).toBe(6);
      const want = expected[what];
      if (want) expect([m.readUInt8(19), m.readUInt8(20)]).toEqual(want);
      expect(fixtureTrigger(name) === undefined).toBe(
        !['bad-peer-as', 'hold-time'].includes(what) && !/malformed|invalid/.test(what),
      );
    }
  });

  it('refuses names that are not fixtures', () => {
    expect(() => fixture('../index')).toThrow(/bad fixture name/);
    expect(() => fixtureInfo('bird-nothing')).toThrow(/no fixture/);
  });
});
