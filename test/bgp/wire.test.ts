// What this speaker puts on the wire, byte for byte against hand-assembled messages (RFC 4271/4760/6793
// layouts), and read back by the parser.
import {
  encodeAnnounce,
  encodeCease,
  encodeKeepalive,
  encodeNotification,
  encodeOpen,
  encodeWithdraw,
} from '../../src/bgp/wire.js';
import { formatIpv6, parseMessage } from '../../src/bgp/parse.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const header = (length: number, type: number) =>
  `${'ff'.repeat(16)}${length.toString(16).padStart(4, '0')}0${type}`;

describe('encoding', () => {
  it('KEEPALIVE is the 19-byte header', () => {
    expect(encodeKeepalive()).toEqual(hex(header(19, 4)));
  });

  it('OPEN: version 4, 2-byte AS, hold time, id, one capabilities parameter (MP v4, MP v6, 4-octet AS)', () => {
    const open = encodeOpen({ localAs: 64513, holdTime: 9, routerId: '198.51.100.2' });
    expect(open.toString('hex')).toBe(
      header(49, 1) +
        '04 fc01 0009 c6336402 14'.replace(/ /g, '') +
        '02 12 01040001 0001 01040002 0001 410400 00fc01'.replace(/ /g, ''),
    );
    expect(parseMessage(open)).toMatchObject({
      type: 'open',
      myAs: 64513,
      holdTime: 9,
      bgpId: '198.51.100.2',
      as4: 64513,
      families: [
        { afi: 1, safi: 1 },
        { afi: 2, safi: 1 },
      ],
    });
  });

  it('OPEN with a 4-byte ASN puts AS_TRANS in My AS and the ASN in the capability', () => {
    const open = encodeOpen({ localAs: 4200000001, holdTime: 30, routerId: '198.51.100.2', families: [4] });
    expect(open.subarray(20, 22).toString('hex')).toBe('5ba0'); // 23456
    expect(open.subarray(-6).toString('hex')).toBe('4104fa56ea01');
    expect(parseMessage(open)).toMatchObject({ myAs: 23456, as4: 4200000001 });
  });

  it('eBGP IPv4 announce: ORIGIN IGP, AS_PATH [own AS] (4-byte), NEXT_HOP, NLRI', () => {
    const msg = encodeAnnounce(['203.0.113.100/32'], {
      localAs: 64513,
      ibgp: false,
      fourOctetAs: true,
      nextHop: '198.51.100.2',
    });
    expect(msg.toString('hex')).toBe(
      header(48, 2) + '0000 0014 400101 00 400206 0201 0000fc01 400304 c6336402 20cb007164'.replace(/ /g, ''),
    );
    expect(parseMessage(msg, { fourOctetAs: true })).toEqual({
      type: 'update',
      withdrawn: [],
      announced: ['203.0.113.100/32'],
      attributeTypes: [1, 2, 3],
    });
  });

  it('iBGP IPv4 announce: empty AS_PATH, LOCAL_PREF 100, communities', () => {
    const msg = encodeAnnounce(['203.0.113.100/32'], {
      localAs: 64512,
      ibgp: true,
      fourOctetAs: false,
      nextHop: '198.51.100.2',
      communities: [(64512 << 16) | 100],
    });
    expect(msg.toString('hex')).toBe(
      header(19 + 4 + 4 + 3 + 7 + 7 + 7 + 5, 2) +
        '0000 001c 400101 00 400200 400304 c6336402 400504 00000064 c00804 fc000064 20cb007164'.replace(
          / /g,
          '',
        ),
    );
    expect(parseMessage(msg)).toMatchObject({
      announced: ['203.0.113.100/32'],
      attributeTypes: [1, 2, 3, 5, 8],
    });
  });

  it('eBGP with a 4-byte ASN over a 2-byte session: AS_TRANS in AS_PATH and the real path in AS4_PATH', () => {
    const msg = encodeAnnounce(['203.0.113.100/32'], {
      localAs: 4200000001,
      ibgp: false,
      fourOctetAs: false,
      nextHop: '198.51.100.2',
    });
    const parsed = parseMessage(msg);
    expect(parsed).toMatchObject({ attributeTypes: [1, 2, 3, 17] });
    expect(msg.includes(hex('400204 0201 5ba0'))).toBe(true);
    expect(msg.includes(hex('c01106 0201 fa56ea01'))).toBe(true);
  });

  it('IPv6 announce goes in MP_REACH_NLRI with the session address as next hop', () => {
    const msg = encodeAnnounce(['2001:db8::100/128'], {
      localAs: 64513,
      ibgp: false,
      fourOctetAs: true,
      nextHop: '2001:db8:1::2',
    });
    expect(msg.toString('hex')).toBe(
      header(19 + 4 + 4 + 9 + 3 + 38, 2) +
        (
          '0000 0036 400101 00 400206 0201 0000fc01 ' +
          '800e26 0002 01 10 20010db8000100000000000000000002 00 80 20010db8000000000000000000000100'
        ).replace(/ /g, ''),
    );
    expect(parseMessage(msg, { fourOctetAs: true })).toMatchObject({ announced: ['2001:db8::100/128'] });
  });

  it('withdraws: IPv4 in Withdrawn Routes, IPv6 in MP_UNREACH_NLRI', () => {
    expect(encodeWithdraw(['203.0.113.100/32']).toString('hex')).toBe(header(28, 2) + '000520cb0071640000');
    const v6 = encodeWithdraw(['2001:db8::100/128']);
    expect(v6.toString('hex')).toBe(
      header(19 + 4 + 3 + 20, 2) +
        '0000 0017 800f14 0002 01 80 20010db8000000000000000000000100'.replace(/ /g, ''),
    );
    expect(parseMessage(v6)).toMatchObject({ withdrawn: ['2001:db8::100/128'], announced: [] });
  });

  it('NOTIFICATION and Cease with a shutdown communication', () => {
    expect(encodeNotification(2, 2, hex('fc00')).toString('hex')).toBe(header(23, 3) + '0202fc00');
    const cease = encodeCease(2, 'bye');
    expect(cease.toString('hex')).toBe(header(25, 3) + '060203' + Buffer.from('bye').toString('hex'));
    expect(parseMessage(cease)).toEqual({ type: 'notification', code: 6, subcode: 2, data: hex('03627965') });
  });

  it('refuses what it cannot encode', () => {
    expect(() => encodeWithdraw([])).toThrow('at least one prefix');
    expect(() => encodeWithdraw(['203.0.113.1/32', '2001:db8::1/128'])).toThrow('one family');
    expect(() => encodeWithdraw(['203.0.113.1/33'])).toThrow('prefix length');
  });

  it('formats IPv6 as RFC 5952 text', () => {
    expect(formatIpv6(hex('20010db8000000000000000000000100'))).toBe('2001:db8::100');
    expect(formatIpv6(hex('00000000000000000000000000000000'))).toBe('::');
    expect(formatIpv6(hex('20010db8000100000001000000000001'))).toBe('2001:db8:1:0:1::1');
    expect(formatIpv6(hex('20010db8000000010000000000000001'))).toBe('2001:db8:0:1::1');
  });
});
