// kvip's parser and encoder against bytes the real daemons sent (test/bgp/fixtures, captured from gobgpd,
// BIRD 2 and FRR): every captured message parses to what the capture decoded with its own codec, the
// messages kvip also sends come out of its encoder byte for byte the same, and the messages that made the
// daemons send an error make kvip's parser raise the same (or, where the daemons disagree, a defensible) one.
import { BgpError } from '../../src/bgp/errors.js';
import { parseMessage } from '../../src/bgp/parse.js';
import { encodeKeepalive, encodeNotification, type Message } from '../../src/bgp/wire.js';
import { fixture, fixtureInfo, fixtureNames, fixtureTrigger } from './fixtures/index.js';

const parse = (name: string): Message => parseMessage(fixture(name), { fourOctetAs: true });

describe('the daemons’ messages, read by kvip', () => {
  it.each(['gobgp', 'bird', 'frr'])(
    '%s OPEN: AS 64512 (4-octet capability), hold 9, id, IPv4 and IPv6 unicast',
    (d) => {
      expect(parse(`${d}-open`)).toMatchObject({
        type: 'open',
        version: 4,
        myAs: 64512,
        as4: 64512,
        holdTime: 9,
        bgpId: '198.51.100.1',
        families: expect.arrayContaining([
          { afi: 1, safi: 1 },
          { afi: 2, safi: 1 },
        ]),
      });
    },
  );

  it('FRR puts each capability in its own optional parameter: all of them are read', () => {
    const open = parse('frr-open');
    if (open.type !== 'open') throw new Error('not an OPEN');
    expect(open.capabilities.map((c) => c.code)).toEqual([1, 1, 128, 2, 70, 65, 6, 69, 73, 64, 71]);
  });

  it.each(fixtureNames().filter((n) => /-update-/.test(n)))(
    '%s announces the prefix it was captured for',
    (name) => {
      const prefix =
        name.includes('ipv6') && !name.includes('ipv4-over') ? '2001:db8:ff::/48' : '203.0.113.128/25';
      expect(parse(name)).toMatchObject({ type: 'update', announced: [prefix], withdrawn: [] });
    },
  );

  it.each(fixtureNames().filter((n) => /-eor-/.test(n)))('%s is an End-of-RIB marker', (name) => {
    expect(parse(name)).toMatchObject({ endOfRib: { afi: name.endsWith('ipv6') ? 2 : 1, safi: 1 } });
  });

  it.each(fixtureNames().filter((n) => /-keepalive$/.test(n)))(
    '%s is byte for byte kvip’s KEEPALIVE',
    (name) => {
      expect(fixture(name)).toEqual(encodeKeepalive());
    },
  );

  it.each(fixtureNames().filter((n) => /-notification-/.test(n)))(
    '%s parses to its code, subcode and data, and kvip encodes the same bytes',
    (name) => {
      const m = parse(name);
      const [, code, subcode, data] =
        /NOTIFICATION (\d+)\/(\d+) data (\S+)/.exec(fixtureInfo(name).summary) ?? [];
      if (m.type !== 'notification' || code === undefined) throw new Error(`${name}: not a NOTIFICATION`);
      expect(`${m.code}/${m.subcode}`).toBe(`${code}/${subcode}`);
      expect(m.data.toString('hex')).toBe(data === '-' ? '' : data);
      expect(encodeNotification(m.code, m.subcode, m.data)).toEqual(fixture(name));
    },
  );
});

describe('the messages that made the daemons send an error, read by kvip', () => {
  const errorOf = (trigger: Buffer | undefined): string => {
    if (!trigger) throw new Error('no trigger recorded');
    try {
      parseMessage(trigger, { fourOctetAs: true });
    } catch (err) {
      if (err instanceof BgpError) return `${err.code}/${err.subcode}`;
      throw err;
    }
    return 'none';
  };

  it('an OPEN with hold time 1: 2/6, as all three daemons answered', () => {
    for (const d of ['gobgp', 'bird', 'frr'])
      expect(errorOf(fixtureTrigger(`${d}-notification-hold-time`))).toBe('2/6');
  });

  it('an UPDATE with a /33 in its NLRI: 3/10, as BIRD and FRR answered (gobgpd says 3/1)', () => {
    expect(errorOf(fixtureTrigger('bird-notification-invalid-nlri'))).toBe('3/10');
    expect(errorOf(fixtureTrigger('frr-notification-invalid-nlri'))).toBe('3/10');
  });

  it('an UPDATE whose AS_PATH runs past the attributes: an UPDATE error (FRR says 3/5, kvip 3/1)', () => {
    expect(errorOf(fixtureTrigger('frr-notification-malformed-attr-length'))).toBe('3/1');
  });

  it('an OPEN from another AS parses: Bad Peer AS is the session’s decision, which knows what to expect', () => {
    expect(errorOf(fixtureTrigger('bird-notification-bad-peer-as'))).toBe('none');
  });
});
