// The announcement frames and kvip check's questions, byte for byte, against layouts written out by hand field
// by field (RFC 826 ARP, RFC 5227 probe, RFC 8200 IPv6, RFC 4861 NA and NS, RFC 4862 DAD). The kernel's acceptance of the same frames is tested in packet.netns.test.ts.
import {
  ALL_NODES_MAC,
  arpProbe,
  dadSolicitation,
  gratuitousArp,
  formatMac,
  ipv4ToBytes,
  ipv6ToBytes,
  parseMac,
  solicitedNode,
  unsolicitedNa,
} from '../../src/vip/frames.js';

/** Field strings ("ff ff ff", "0806") joined into one lowercase hex string. */
const hex = (...fields: string[]): string => fields.join('').replace(/\s+/g, '').toLowerCase();

const MAC = '02:00:00:00:00:01';

describe('gratuitousArp', () => {
  // 198.51.100.10 = c6.33.64.0a
  const expected = hex(
    'ff ff ff ff ff ff', // Ethernet destination: broadcast
    '02 00 00 00 00 01', // Ethernet source: sender MAC
    '08 06', // ethertype ARP
    '00 01', // htype: Ethernet
    '08 00', // ptype: IPv4
    '06', // hlen
    '04', // plen
    '00 01', // op: request (not reply: a reply with a broadcast target is ignored during locktime)
    '02 00 00 00 00 01', // sender hardware address
    'c6 33 64 0a', // sender protocol address: the VIP
    'ff ff ff ff ff ff', // target hardware address
    'c6 33 64 0a', // target protocol address: the VIP
    '00'.repeat(18), // padding from 42 to the 60-byte Ethernet minimum
  );

  it('is the 60-byte ARP request with sender IP = target IP = VIP, to broadcast', () => {
    const f = gratuitousArp(MAC, '198.51.100.10');
    expect(f.length).toBe(60);
    expect(f.toString('hex')).toBe(expected);
  });

  it('takes the MAC as bytes, upper case or with dashes, with the same result', () => {
    expect(gratuitousArp(Buffer.from([2, 0, 0, 0, 0, 1]), '198.51.100.10').toString('hex')).toBe(expected);
    expect(gratuitousArp('02-00-00-00-00-01', '198.51.100.10').toString('hex')).toBe(expected);
    const upper = gratuitousArp('0A:BC:DE:F0:12:34', '203.0.113.7');
    expect(upper.subarray(6, 12).toString('hex')).toBe('0abcdef01234');
    expect(upper.subarray(28, 32).toString('hex')).toBe('cb007107');
  });

  it.each([
    ['an IPv6 VIP', MAC, '2001:db8::1'],
    ['a bad IPv4 VIP', MAC, '198.51.100.256'],
    ['an empty VIP', MAC, ''],
    ['a multicast sender MAC', '01:00:5e:00:00:01', '198.51.100.10'],
    ['the broadcast MAC', 'ff:ff:ff:ff:ff:ff', '198.51.100.10'],
    ['an all-zero MAC (lo)', '00:00:00:00:00:00', '198.51.100.10'],
    ['a short MAC', '02:00:00:00:00', '198.51.100.10'],
  ])('refuses %s', (_what, mac, vip) => {
    expect(() => gratuitousArp(mac, vip)).toThrow();
  });

  it('refuses a MAC buffer that is not 6 bytes', () => {
    expect(() => gratuitousArp(Buffer.alloc(5, 2), '198.51.100.10')).toThrow(/6/);
  });
});

/** RFC 1071 checksum written independently of src/vip/frames.ts: sum 16-bit words with end-around carry. */
function internetChecksum(bytes: Buffer): number {
  let sum = 0;
  for (let i = 0; i + 1 < bytes.length; i += 2) {
    sum += bytes.readUInt16BE(i);
    sum = (sum & 0xffff) + (sum >> 16);
  }
  if (bytes.length % 2) sum += (bytes[bytes.length - 1] as number) << 8;
  sum = (sum & 0xffff) + (sum >> 16);
  return ~sum & 0xffff;
}

describe('unsolicitedNa', () => {
  // 2001:db8::10 as 16 bytes
  const vip = '20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 10';
  const expected = hex(
    // Ethernet
    '33 33 00 00 00 01', // destination: IPv6 multicast to ff02::1
    '02 00 00 00 00 01', // source: sender MAC
    '86 dd', // ethertype IPv6
    // IPv6 header
    '60 00 00 00', // version 6, traffic class 0, flow label 0
    '00 20', // payload length 32
    '3a', // next header 58: ICMPv6
    'ff', // hop limit 255
    vip, // source: the VIP
    'ff 02 00 00 00 00 00 00 00 00 00 00 00 00 00 01', // destination: ff02::1
    // ICMPv6 neighbour advertisement
    '88', // type 136
    '00', // code 0
    // Checksum by hand, 16-bit words: pseudo-header src 2001+0db8+0010 = 2dc9, dst ff02+0001 = ff03,
    // length 0020 + next header 003a = 005a; message 8800+2000 + target 2dc9 + option 0201+0200+0000+0001
    // = d9cb. 2dc9+ff03+005a+d9cb = 206f1 -> fold 06f1+2 = 06f3 -> complement f90c.
    'f9 0c',
    '20 00 00 00', // flags R=0 S=0 O=1, reserved
    vip, // target address: the VIP
    '02', // option type 2: target link-layer address
    '01', // option length 1 (8 bytes)
    '02 00 00 00 00 01', // the sender MAC
  );

  it('is the 86-byte NA from the VIP to ff02::1, hop limit 255, O=1, with the target link-layer option', () => {
    const f = unsolicitedNa(MAC, '2001:db8::10');
    expect(f.length).toBe(86);
    expect(f.toString('hex')).toBe(expected);
  });

  it('has an ICMPv6 checksum that verifies over the pseudo-header (recomputed here)', () => {
    for (const [mac, ip] of [
      [MAC, '2001:db8::10'],
      ['0a:bc:de:f0:12:34', '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff'],
      ['02:ff:ff:ff:ff:ff', '2001:db8::'],
    ] as const) {
      const f = unsolicitedNa(mac, ip);
      const icmp = Buffer.from(f.subarray(54));
      const pseudo = Buffer.concat([
        f.subarray(22, 38), // source
        f.subarray(38, 54), // destination
        Buffer.from([0, 0, 0, icmp.length, 0, 0, 0, 58]), // upper-layer length, zeros, next header
      ]);
      const stored = icmp.readUInt16BE(2);
      icmp.writeUInt16BE(0, 2);
      expect(stored).toBe(internetChecksum(Buffer.concat([pseudo, icmp])));
      // and the receiver's check: the sum over everything, checksum included, is 0xffff (complement 0)
      expect(internetChecksum(Buffer.concat([pseudo, f.subarray(54)]))).toBe(0);
      expect(f.subarray(0, 6)).toEqual(ALL_NODES_MAC);
      expect(f.subarray(62, 78)).toEqual(ipv6ToBytes(ip));
    }
  });

  it.each([
    ['an IPv4 VIP', MAC, '198.51.100.10'],
    ['a zone', MAC, 'fe80::1%eth0'],
    ['two ::', MAC, '2001:db8::1::2'],
    ['a multicast sender MAC', '33:33:00:00:00:01', '2001:db8::10'],
    ['a MAC with a bad digit', '02:00:00:00:00:0g', '2001:db8::10'],
  ])('refuses %s', (_what, mac, vip) => {
    expect(() => unsolicitedNa(mac, vip)).toThrow();
  });
});

describe('arpProbe', () => {
  it('is the RFC 5227 probe: a request from sender IP 0.0.0.0 for the VIP, target MAC zero, to broadcast', () => {
    const f = arpProbe(MAC, '198.51.100.10');
    expect(f.toString('hex')).toBe(
      hex(
        'ff ff ff ff ff ff', // Ethernet destination: broadcast
        '02 00 00 00 00 01', // Ethernet source
        '08 06', // ethertype ARP
        '00 01 08 00 06 04', // Ethernet, IPv4, hlen 6, plen 4
        '00 01', // op: request
        '02 00 00 00 00 01', // sender hardware address
        '00 00 00 00', // sender protocol address: none, so that no receiver caches it
        '00 00 00 00 00 00', // target hardware address: unknown
        'c6 33 64 0a', // target protocol address: the VIP
        '00'.repeat(18), // padding to 60
      ),
    );
  });

  it('refuses an IPv6 VIP and a multicast sender', () => {
    expect(() => arpProbe(MAC, '2001:db8::1')).toThrow();
    expect(() => arpProbe('01:00:5e:00:00:01', '198.51.100.10')).toThrow();
  });
});

describe('dadSolicitation', () => {
  it('is the DAD neighbour solicitation: from :: to the solicited-node group, hop limit 255, no option', () => {
    const f = dadSolicitation(MAC, '2001:db8::10');
    expect(f.length).toBe(78);
    const body = Buffer.from(f);
    body.writeUInt16BE(0, 56); // checksum, checked below
    expect(body.toString('hex')).toBe(
      hex(
        '33 33 ff 00 00 10', // Ethernet destination: 33:33 + the group's low 32 bits
        '02 00 00 00 00 01', // source
        '86 dd',
        '60 00 00 00', // version 6
        '00 18', // payload length 24
        '3a', // ICMPv6
        'ff', // hop limit 255
        '00'.repeat(16), // source :: (DAD)
        'ff 02 00 00 00 00 00 00 00 00 00 01 ff 00 00 10', // ff02::1:ff00:10
        '87 00 00 00', // type 135, code 0, checksum (zeroed above)
        '00 00 00 00', // reserved
        '20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 10', // target: the VIP
      ),
    );
    const pseudo = Buffer.concat([f.subarray(22, 54), Buffer.from([0, 0, 0, 24, 0, 0, 0, 58])]);
    expect(internetChecksum(Buffer.concat([pseudo, f.subarray(54)]))).toBe(0);
  });

  it('puts the low 24 bits of the address in the group', () => {
    expect(solicitedNode(ipv6ToBytes('2001:db8::abcd:1234:5678')).toString('hex')).toBe(
      'ff0200000000000000000001ff345678',
    );
  });

  it('refuses an IPv4 VIP', () => {
    expect(() => dadSolicitation(MAC, '198.51.100.10')).toThrow();
  });
});

describe('ipv6ToBytes', () => {
  it.each([
    ['2001:db8::1', '20010db8 00000000 00000000 00000001'],
    ['2001:db8:0:0:1::', '20010db8 00000000 00010000 00000000'],
    ['::ffff:198.51.100.1', '00000000 00000000 0000ffff c6336401'],
    ['::198.51.100.1', '00000000 00000000 00000000 c6336401'],
    ['64:ff9b::203.0.113.7', '0064ff9b 00000000 00000000 cb007107'],
    ['2001:db8:1:2:3:4:198.51.100.1', '20010db8 00010002 00030004 c6336401'],
    ['::', '00000000 00000000 00000000 00000000'],
    ['::1', '00000000 00000000 00000000 00000001'],
    ['1::', '00010000 00000000 00000000 00000000'],
    ['2001:DB8::A:b', '20010db8 00000000 00000000 000a000b'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '20010db8 00000000 00000000 00000001'],
    ['ff02::1', 'ff020000 00000000 00000000 00000001'],
  ])('%s', (text, bytes) => {
    expect(ipv6ToBytes(text).toString('hex')).toBe(hex(bytes));
  });

  it('puts a one-group :: in the right place', () => {
    // 7 explicit groups: '::' stands for exactly one zero group, after 2001:db8
    expect(ipv6ToBytes('2001:db8::4:5:6:7:8').toString('hex')).toBe(
      hex('2001 0db8 0000 0004 0005 0006 0007 0008'),
    );
    expect(ipv6ToBytes('::2:3:4:5:6:7:8').toString('hex')).toBe(
      hex('0000 0002 0003 0004 0005 0006 0007 0008'),
    );
    expect(ipv6ToBytes('1:2:3:4:5:6:7::').toString('hex')).toBe(
      hex('0001 0002 0003 0004 0005 0006 0007 0000'),
    );
  });

  it.each([
    '',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '2001:db8:::1',
    '2001:db8::1::2',
    ':1',
    '1:',
    '12345::1',
    '2001:db8::g',
    '198.51.100.1',
    '::ffff:198.51.100.300',
    'fe80::1%eth0',
  ])('refuses %j', (text) => {
    expect(() => ipv6ToBytes(text)).toThrow(/invalid IPv6 address/);
  });
});

describe('ipv4ToBytes, parseMac, formatMac', () => {
  it('converts dotted quads', () => {
    expect(ipv4ToBytes('198.51.100.1').toString('hex')).toBe('c6336401');
    expect(ipv4ToBytes('0.0.0.0').toString('hex')).toBe('00000000');
    expect(ipv4ToBytes('255.255.255.255').toString('hex')).toBe('ffffffff');
  });

  it.each(['', '198.51.100', '198.51.100.1.2', '198.51.100.256', '::1', 'localhost', ' 198.51.100.1'])(
    'refuses IPv4 %j',
    (text) => {
      expect(() => ipv4ToBytes(text)).toThrow(/invalid IPv4 address/);
    },
  );

  it('parses and formats MACs', () => {
    expect(parseMac('0A:bc:DE:f0:12:34').toString('hex')).toBe('0abcdef01234');
    expect(parseMac('0a-bc-de-f0-12-34').toString('hex')).toBe('0abcdef01234');
    expect(formatMac(parseMac('0A-BC-DE-F0-12-34'))).toBe('0a:bc:de:f0:12:34');
  });

  it.each([
    '',
    '02:00:00:00:00',
    '02:00:00:00:00:01:02',
    '02:00-00:00:00:01',
    '2:0:0:0:0:1',
    '0200.0000.0001',
    '020000000001',
    '02:00:00:00:00:0g',
    ' 02:00:00:00:00:01',
  ])('refuses MAC %j', (text) => {
    expect(() => parseMac(text)).toThrow(/invalid MAC address/);
  });
});
