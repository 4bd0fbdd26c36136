// The parser's error answers: each malformed message maps to the NOTIFICATION code/subcode RFC 4271 section 6
// names for it, and the stream reader never waits for bytes a bad header promised.
import { BgpError } from '../../src/bgp/errors.js';
import { MessageReader, parseMessage } from '../../src/bgp/parse.js';
import { encodeAnnounce, encodeKeepalive, encodeOpen } from '../../src/bgp/wire.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function msg(type: number, body: string, length?: number): Buffer {
  const b = hex(body);
  const h = Buffer.alloc(19, 0xff);
  h.writeUInt16BE(length ?? 19 + b.length, 16);
  h.writeUInt8(type, 18);
  return Buffer.concat([h, b]);
}

function errorOf(m: Buffer, fourOctetAs = true): { code: number; subcode: number; data: string } {
  try {
    parseMessage(m, { fourOctetAs });
  } catch (err) {
    if (!(err instanceof BgpError)) throw err;
    return { code: err.code, subcode: err.subcode, data: err.data.toString('hex') };
  }
  throw new Error('parsed without an error');
}

const OPEN_HEAD = '04 fc00 0009 c6336401';
const ORIGIN = '400101 00';
const ASPATH = '400206 0201 0000fc00';
const NEXTHOP = '400304 c6336401';
const NLRI = '20cb007164';
function update(attrs: string, nlri = NLRI, withdrawn = ''): Buffer {
  const a = hex(attrs);
  const w = hex(withdrawn);
  const wl = Buffer.alloc(2);
  wl.writeUInt16BE(w.length);
  const al = Buffer.alloc(2);
  al.writeUInt16BE(a.length);
  return msg(2, Buffer.concat([wl, w, al, a, hex(nlri)]).toString('hex'));
}

describe('message header errors (1/x)', () => {
  it('a marker that is not all ones: Connection Not Synchronized', () => {
    const m = encodeKeepalive();
    m[3] = 0;
    expect(errorOf(m)).toMatchObject({ code: 1, subcode: 1 });
  });
  it('lengths outside a type bounds: Bad Message Length with the length as data', () => {
    expect(errorOf(msg(4, '00'))).toEqual({ code: 1, subcode: 2, data: '0014' });
    expect(errorOf(msg(1, '04'))).toEqual({ code: 1, subcode: 2, data: '0014' });
    expect(errorOf(msg(4, '', 5000))).toEqual({ code: 1, subcode: 2, data: '1388' });
    expect(errorOf(msg(5, '000100'))).toMatchObject({ code: 1, subcode: 2 });
  });
  it('an unknown type: Bad Message Type with the type as data', () => {
    expect(errorOf(msg(9, ''))).toEqual({ code: 1, subcode: 3, data: '09' });
  });
  it('the reader rejects a bad length before waiting for the rest', () => {
    const reader = new MessageReader();
    const h = Buffer.alloc(19, 0xff);
    h.writeUInt16BE(65535, 16);
    h.writeUInt8(2, 18);
    expect(() => reader.push(h)).toThrow(BgpError);
  });
  it('the reader reassembles messages split at any byte, and returns several from one chunk', () => {
    const a = encodeOpen({ localAs: 64512, holdTime: 9, routerId: '198.51.100.1' });
    const stream = Buffer.concat([a, encodeKeepalive(), encodeKeepalive()]);
    for (let cut = 1; cut < stream.length; cut++) {
      const reader = new MessageReader();
      const got = [...reader.push(stream.subarray(0, cut)), ...reader.push(stream.subarray(cut))];
      expect(got.map((m) => m.length)).toEqual([a.length, 19, 19]);
    }
  });
});

describe('OPEN errors (2/x)', () => {
  it('version 3: Unsupported Version Number, data = the version we speak', () => {
    expect(errorOf(msg(1, '03 fc00 0009 c6336401 00'))).toEqual({ code: 2, subcode: 1, data: '0004' });
  });
  it('hold time 1 or 2: Unacceptable Hold Time', () => {
    expect(errorOf(msg(1, '04 fc00 0002 c6336401 00'))).toMatchObject({ code: 2, subcode: 6 });
  });
  it('identifier 0.0.0.0: Bad BGP Identifier', () => {
    expect(errorOf(msg(1, '04 fc00 0009 00000000 00'))).toMatchObject({ code: 2, subcode: 3 });
  });
  it('a parameter that is not capabilities: Unsupported Optional Parameter', () => {
    expect(errorOf(msg(1, `${OPEN_HEAD} 03 01 01 00`))).toMatchObject({ code: 2, subcode: 4 });
  });
  it('parameter lengths that do not add up: OPEN Message Error', () => {
    expect(errorOf(msg(1, `${OPEN_HEAD} 04 02 08 01 04`))).toMatchObject({ code: 2, subcode: 0 });
    expect(errorOf(msg(1, `${OPEN_HEAD} 05 02 03 41 04 00`))).toMatchObject({ code: 2, subcode: 0 });
    expect(errorOf(msg(1, `${OPEN_HEAD} 08 02 06 41 02 0000 0000`))).toMatchObject({ code: 2, subcode: 0 });
  });
  it('a 4-octet AS of AS_TRANS: Bad Peer AS', () => {
    expect(errorOf(msg(1, `${OPEN_HEAD} 08 02 06 41 04 00005ba0`))).toMatchObject({ code: 2, subcode: 2 });
  });
  it('extended optional parameters (RFC 9072) are read', () => {
    const m = parseMessage(msg(1, `${OPEN_HEAD} ff ff 0009 02 0006 41 04 fa56ea01`));
    expect(m).toMatchObject({ type: 'open', as4: 4200000001 });
  });
  it('unknown capabilities are kept, not refused', () => {
    const m = parseMessage(msg(1, `${OPEN_HEAD} 06 02 04 46 02 abcd`));
    expect(m).toMatchObject({ capabilities: [{ code: 0x46, value: hex('abcd') }] });
  });
});

describe('UPDATE errors (3/x)', () => {
  it('a well-formed UPDATE parses', () => {
    expect(parseMessage(update(`${ORIGIN} ${ASPATH} ${NEXTHOP}`), { fourOctetAs: true })).toMatchObject({
      announced: ['203.0.113.100/32'],
    });
  });
  it('withdrawn routes or attributes past the end: Malformed Attribute List', () => {
    expect(errorOf(msg(2, '00ff 0000'))).toMatchObject({ code: 3, subcode: 1 });
    expect(errorOf(msg(2, '0000 00ff'))).toMatchObject({ code: 3, subcode: 1 });
    expect(errorOf(update('400101'))).toMatchObject({ code: 3, subcode: 1 });
    expect(errorOf(update(`${ORIGIN} ${ORIGIN} ${ASPATH} ${NEXTHOP}`))).toMatchObject({
      code: 3,
      subcode: 1,
    });
  });
  it('an unknown well-known attribute: Unrecognized Well-known Attribute, data = the attribute', () => {
    expect(errorOf(update(`${ORIGIN} ${ASPATH} ${NEXTHOP} 40 63 01 00`))).toEqual({
      code: 3,
      subcode: 2,
      data: '40630100',
    });
  });
  it('NLRI without NEXT_HOP: Missing Well-known Attribute, data = its type', () => {
    expect(errorOf(update(`${ORIGIN} ${ASPATH}`))).toEqual({ code: 3, subcode: 3, data: '03' });
  });
  it('ORIGIN marked optional: Attribute Flags Error', () => {
    expect(errorOf(update(`c00101 00 ${ASPATH} ${NEXTHOP}`))).toMatchObject({ code: 3, subcode: 4 });
  });
  it('a NEXT_HOP of 5 bytes: Attribute Length Error', () => {
    expect(errorOf(update(`${ORIGIN} ${ASPATH} 400305 c633640100`))).toMatchObject({ code: 3, subcode: 5 });
  });
  it('ORIGIN 3: Invalid ORIGIN Attribute', () => {
    expect(errorOf(update(`400101 03 ${ASPATH} ${NEXTHOP}`))).toMatchObject({ code: 3, subcode: 6 });
  });
  it('an NLRI prefix of /33: Invalid Network Field', () => {
    expect(errorOf(update(`${ORIGIN} ${ASPATH} ${NEXTHOP}`, '21cb00716400'))).toMatchObject({
      code: 3,
      subcode: 10,
    });
  });
  it('an AS_PATH segment longer than its attribute: Malformed AS_PATH', () => {
    expect(errorOf(update(`${ORIGIN} 400206 0202 0000fc00 ${NEXTHOP}`))).toMatchObject({
      code: 3,
      subcode: 11,
    });
    // 4-byte ASNs read as 2-byte ones (no 4-octet AS capability) no longer fit
    expect(errorOf(update(`${ORIGIN} 400205 0201 00fc00 ${NEXTHOP}`), true)).toMatchObject({
      code: 3,
      subcode: 11,
    });
  });
  it('a cut MP_REACH_NLRI: Optional Attribute Error', () => {
    expect(errorOf(update(`${ORIGIN} ${ASPATH} 800e03 000201`, ''))).toMatchObject({ code: 3, subcode: 9 });
  });
  it('End-of-RIB for IPv4 and IPv6 is recognised', () => {
    expect(parseMessage(msg(2, '0000 0000'))).toMatchObject({ endOfRib: { afi: 1, safi: 1 } });
    expect(parseMessage(msg(2, '0000 0006 800f03 000201'))).toMatchObject({ endOfRib: { afi: 2, safi: 1 } });
  });
  it('an optional attribute it does not know is accepted (and discarded)', () => {
    const m = encodeAnnounce(['203.0.113.100/32'], {
      localAs: 64512,
      ibgp: false,
      fourOctetAs: true,
      nextHop: '198.51.100.1',
    });
    expect(parseMessage(m, { fourOctetAs: true })).toMatchObject({ attributeTypes: [1, 2, 3] });
    expect(
      parseMessage(update(`${ORIGIN} ${ASPATH} ${NEXTHOP} c0 63 02 abcd`), { fourOctetAs: true }),
    ).toMatchObject({
      attributeTypes: [1, 2, 3, 0x63],
    });
  });
});

describe('ROUTE-REFRESH and NOTIFICATION', () => {
  it('are parsed', () => {
    expect(parseMessage(msg(5, '00010001'))).toEqual({ type: 'route-refresh', afi: 1, safi: 1 });
    expect(parseMessage(msg(3, '0604'))).toEqual({
      type: 'notification',
      code: 6,
      subcode: 4,
      data: Buffer.alloc(0),
    });
  });
});
