// The strict, bounds-checked BGP message parser. Every read is checked against the bytes that are there, and
// whatever does not fit the RFCs is a BgpError carrying the NOTIFICATION code/subcode/data that answers it
// (RFC 4271 section 6), so a malformed or hostile message ends the session and a reconnect follows: it is
// never an exception out of the event loop, a read past the end, or a wait for bytes that never come. The
// peer's routes are parsed only to be checked and discarded: this speaker announces, it never learns.
import { BgpError, ErrorCode, HeaderSubcode, OpenSubcode, UpdateSubcode } from './errors.js';
import {
  AS_TRANS,
  AttrFlag,
  AttrType,
  BGP_VERSION,
  CapabilityCode,
  HEADER_LENGTH,
  MAX_MESSAGE_LENGTH,
  MessageType,
  type Capability,
  type Message,
  type OpenMessage,
  type Prefix,
  type UpdateMessage,
} from './wire.js';

/** Per-type bounds on the header's length field (RFC 4271 4.1-4.5, RFC 2918 for ROUTE-REFRESH). */
const LENGTH_BOUNDS: Record<number, [number, number]> = {
  [MessageType.Open]: [29, MAX_MESSAGE_LENGTH],
  [MessageType.Update]: [23, MAX_MESSAGE_LENGTH],
  [MessageType.Notification]: [21, MAX_MESSAGE_LENGTH],
  [MessageType.Keepalive]: [19, 19],
  [MessageType.RouteRefresh]: [23, 23],
};

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n, 0);
  return b;
}

/**
 * Checks a message header (the first 19 bytes) and returns the whole message's length and type. The length is
 * checked before anything waits for the rest, so a bad length never makes the reader wait for bytes.
 */
export function parseHeader(header: Buffer): { length: number; type: number } {
  for (let i = 0; i < 16; i++)
    if (header[i] !== 0xff)
      throw new BgpError(
        ErrorCode.MessageHeader,
        HeaderSubcode.NotSynchronized,
        'the marker is not all ones',
      );
  const length = header.readUInt16BE(16);
  const type = header.readUInt8(18);
  const bounds = LENGTH_BOUNDS[type];
  if (bounds === undefined)
    throw new BgpError(
      ErrorCode.MessageHeader,
      HeaderSubcode.BadType,
      `message type ${type}`,
      Buffer.from([type]),
    );
  if (length < bounds[0] || length > bounds[1])
    throw new BgpError(
      ErrorCode.MessageHeader,
      HeaderSubcode.BadLength,
      `length ${length} for message type ${type}`,
      u16(length),
    );
  return { length, type };
}

/**
 * Cuts a byte stream into messages. The buffer never holds more than one message plus one chunk, because
 * complete messages are taken out as soon as they are there.
 */
export class MessageReader {
  private buffered: Buffer = Buffer.alloc(0);

  /** Adds bytes; returns the complete messages now available (raw, header included). Throws BgpError. */
  push(chunk: Buffer): Buffer[] {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const out: Buffer[] = [];
    while (this.buffered.length >= HEADER_LENGTH) {
      const { length } = parseHeader(this.buffered);
      if (this.buffered.length < length) break;
      out.push(this.buffered.subarray(0, length));
      this.buffered = this.buffered.subarray(length);
    }
    return out;
  }
}

export interface ParseContext {
  /** Both sides sent the 4-octet AS capability: AS_PATH and AGGREGATOR carry 4-byte ASNs. */
  fourOctetAs: boolean;
}

/** Parses one whole message (as MessageReader returns them). Throws BgpError. */
export function parseMessage(msg: Buffer, ctx: ParseContext = { fourOctetAs: false }): Message {
  const { length, type } = parseHeader(msg);
  if (msg.length !== length)
    throw new BgpError(
      ErrorCode.MessageHeader,
      HeaderSubcode.BadLength,
      `got ${msg.length} bytes, header says ${length}`,
      u16(length),
    );
  const body = msg.subarray(HEADER_LENGTH);
  switch (type) {
    case MessageType.Open:
      return parseOpen(body);
    case MessageType.Update:
      return parseUpdate(body, ctx);
    case MessageType.Notification:
      return {
        type: 'notification',
        code: body.readUInt8(0),
        subcode: body.readUInt8(1),
        data: Buffer.from(body.subarray(2)),
      };
    case MessageType.Keepalive:
      return { type: 'keepalive' };
    default:
      return { type: 'route-refresh', afi: body.readUInt16BE(0), safi: body.readUInt8(3) };
  }
}

function openError(subcode: number, detail: string, data?: Buffer): BgpError {
  return new BgpError(ErrorCode.Open, subcode, detail, data);
}

function formatIpv4(b: Buffer): string {
  return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
}

/** RFC 5952 text: lower case, the longest run of two or more zero groups as "::". */
export function formatIpv6(b: Buffer): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i));
  let best = { at: -1, len: 0 };
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.len && j - i >= 2) best = { at: i, len: j - i };
    i = j;
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(':');
  if (best.at < 0) return hex(groups);
  return `${hex(groups.slice(0, best.at))}::${hex(groups.slice(best.at + best.len))}`;
}

function parseOpen(body: Buffer): OpenMessage {
  const version = body.readUInt8(0);
  if (version !== BGP_VERSION)
    throw openError(OpenSubcode.UnsupportedVersion, `version ${version}`, u16(BGP_VERSION));
  const myAs = body.readUInt16BE(1);
  const holdTime = body.readUInt16BE(3);
  if (holdTime === 1 || holdTime === 2)
    throw openError(OpenSubcode.UnacceptableHoldTime, `hold time ${holdTime} s (0 or at least 3)`);
  const idBytes = body.subarray(5, 9);
  const bgpId = formatIpv4(idBytes);
  if (idBytes.readUInt32BE(0) === 0 || idBytes.readUInt32BE(0) === 0xffffffff)
    throw openError(OpenSubcode.BadBgpId, `BGP identifier ${bgpId}`, Buffer.from(idBytes));
  const params = optionalParameters(body);
  const capabilities: Capability[] = [];
  for (const p of params) {
    if (p.type !== 2)
      throw openError(OpenSubcode.UnsupportedOptionalParameter, `optional parameter type ${p.type}`);
    for (let at = 0; at < p.value.length;) {
      if (at + 2 > p.value.length)
        throw openError(OpenSubcode.Unspecific, 'a capability runs past its parameter');
      const code = p.value.readUInt8(at);
      const len = p.value.readUInt8(at + 1);
      if (at + 2 + len > p.value.length)
        throw openError(OpenSubcode.Unspecific, `capability ${code} runs past its parameter`);
      capabilities.push({ code, value: Buffer.from(p.value.subarray(at + 2, at + 2 + len)) });
      at += 2 + len;
    }
  }
  const families: Array<{ afi: number; safi: number }> = [];
  let as4: number | undefined;
  for (const c of capabilities) {
    if (c.code === CapabilityCode.Multiprotocol) {
      if (c.value.length !== 4)
        throw openError(OpenSubcode.Unspecific, `multiprotocol capability of ${c.value.length} bytes`);
      families.push({ afi: c.value.readUInt16BE(0), safi: c.value.readUInt8(3) });
    } else if (c.code === CapabilityCode.FourOctetAs) {
      if (c.value.length !== 4)
        throw openError(OpenSubcode.Unspecific, `4-octet AS capability of ${c.value.length} bytes`);
      as4 = c.value.readUInt32BE(0);
      if (as4 === 0 || as4 === AS_TRANS)
        throw openError(OpenSubcode.BadPeerAs, `4-octet AS ${as4}`, Buffer.from(c.value));
    }
  }
  return {
    type: 'open',
    version,
    myAs,
    holdTime,
    bgpId,
    capabilities,
    ...(as4 !== undefined ? { as4 } : {}),
    families,
  };
}

/** Optional parameters, in RFC 4271's form or RFC 9072's extended one (length 255, type 255, 2-byte lengths). */
function optionalParameters(body: Buffer): Array<{ type: number; value: Buffer }> {
  let at = 10;
  let end = at + body.readUInt8(9);
  let wide = false;
  if (body.readUInt8(9) === 255 && body.length >= 13 && body.readUInt8(10) === 255) {
    wide = true;
    end = 13 + body.readUInt16BE(11);
    at = 13;
  }
  if (end !== body.length)
    throw openError(
      OpenSubcode.Unspecific,
      `optional parameters end at ${end}, the message at ${body.length}`,
    );
  const out: Array<{ type: number; value: Buffer }> = [];
  const head = wide ? 3 : 2;
  while (at < end) {
    if (at + head > end)
      throw openError(OpenSubcode.Unspecific, 'an optional parameter runs past the message');
    const type = body.readUInt8(at);
    const len = wide ? body.readUInt16BE(at + 1) : body.readUInt8(at + 1);
    if (at + head + len > end)
      throw openError(OpenSubcode.Unspecific, `optional parameter ${type} runs past the message`);
    out.push({ type, value: body.subarray(at + head, at + head + len) });
    at += head + len;
  }
  return out;
}

function updateError(subcode: number, detail: string, data?: Buffer): BgpError {
  return new BgpError(ErrorCode.Update, subcode, detail, data);
}

/** Prefixes in NLRI encoding; `bad` is the subcode when they do not parse. */
function prefixes(b: Buffer, family: 4 | 6, bad: number, where: string): Prefix[] {
  const max = family === 4 ? 32 : 128;
  const out: Prefix[] = [];
  for (let at = 0; at < b.length;) {
    const len = b.readUInt8(at);
    const n = Math.ceil(len / 8);
    if (len > max || at + 1 + n > b.length) throw updateError(bad, `a prefix in ${where} is malformed`);
    const full = Buffer.alloc(family === 4 ? 4 : 16);
    b.copy(full, 0, at + 1, at + 1 + n);
    out.push(`${family === 4 ? formatIpv4(full) : formatIpv6(full)}/${len}`);
    at += 1 + n;
  }
  return out;
}

// Flags each known attribute must carry (Optional and Transitive bits), and its fixed length if it has one.
const KNOWN: Record<number, { flags: number; length?: (ctx: ParseContext) => number }> = {
  [AttrType.Origin]: { flags: AttrFlag.Transitive, length: () => 1 },
  [AttrType.AsPath]: { flags: AttrFlag.Transitive },
  [AttrType.NextHop]: { flags: AttrFlag.Transitive, length: () => 4 },
  [AttrType.Med]: { flags: AttrFlag.Optional, length: () => 4 },
  [AttrType.LocalPref]: { flags: AttrFlag.Transitive, length: () => 4 },
  [AttrType.AtomicAggregate]: { flags: AttrFlag.Transitive, length: () => 0 },
  [AttrType.Aggregator]: {
    flags: AttrFlag.Optional | AttrFlag.Transitive,
    length: (c) => (c.fourOctetAs ? 8 : 6),
  },
  [AttrType.Communities]: { flags: AttrFlag.Optional | AttrFlag.Transitive },
  [AttrType.MpReach]: { flags: AttrFlag.Optional },
  [AttrType.MpUnreach]: { flags: AttrFlag.Optional },
  [AttrType.As4Path]: { flags: AttrFlag.Optional | AttrFlag.Transitive },
  [AttrType.As4Aggregator]: { flags: AttrFlag.Optional | AttrFlag.Transitive, length: () => 8 },
};

function checkAsPath(v: Buffer, width: number, data: Buffer): void {
  for (let at = 0; at < v.length;) {
    if (at + 2 > v.length)
      throw updateError(UpdateSubcode.MalformedAsPath, 'an AS_PATH segment header is cut', data);
    const kind = v.readUInt8(at);
    const count = v.readUInt8(at + 1);
    if (kind < 1 || kind > 4 || count === 0 || at + 2 + count * width > v.length)
      throw updateError(UpdateSubcode.MalformedAsPath, `AS_PATH segment type ${kind}, ${count} ASNs`, data);
    at += 2 + count * width;
  }
}

function familyOfAfi(afi: number, safi: number): 4 | 6 | undefined {
  if (safi !== 1) return undefined;
  return afi === 1 ? 4 : afi === 2 ? 6 : undefined;
}

function parseUpdate(body: Buffer, ctx: ParseContext): UpdateMessage {
  const wlen = body.readUInt16BE(0);
  if (2 + wlen + 2 > body.length)
    throw updateError(UpdateSubcode.MalformedAttributeList, 'withdrawn routes run past the message');
  const withdrawn = prefixes(
    body.subarray(2, 2 + wlen),
    4,
    UpdateSubcode.MalformedAttributeList,
    'withdrawn routes',
  );
  const alen = body.readUInt16BE(2 + wlen);
  const attrStart = 4 + wlen;
  if (attrStart + alen > body.length)
    throw updateError(UpdateSubcode.MalformedAttributeList, 'path attributes run past the message');
  const attrs = body.subarray(attrStart, attrStart + alen);
  const announced = prefixes(body.subarray(attrStart + alen), 4, UpdateSubcode.InvalidNetworkField, 'NLRI');
  const types: number[] = [];
  let endOfRib: UpdateMessage['endOfRib'];
  let mpReach = false;
  for (let at = 0; at < attrs.length;) {
    if (at + 3 > attrs.length)
      throw updateError(UpdateSubcode.MalformedAttributeList, 'an attribute header is cut');
    const flags = attrs.readUInt8(at);
    const type = attrs.readUInt8(at + 1);
    const wide = (flags & AttrFlag.ExtendedLength) !== 0;
    const head = wide ? 4 : 3;
    if (at + head > attrs.length)
      throw updateError(UpdateSubcode.MalformedAttributeList, 'an attribute header is cut');
    const len = wide ? attrs.readUInt16BE(at + 2) : attrs.readUInt8(at + 2);
    if (at + head + len > attrs.length)
      throw updateError(UpdateSubcode.MalformedAttributeList, `attribute ${type} runs past the list`);
    const whole = Buffer.from(attrs.subarray(at, at + head + len));
    const v = attrs.subarray(at + head, at + head + len);
    at += head + len;
    if (types.includes(type))
      throw updateError(UpdateSubcode.MalformedAttributeList, `attribute ${type} appears twice`);
    types.push(type);
    const known = KNOWN[type];
    if (known === undefined) {
      if ((flags & AttrFlag.Optional) === 0)
        throw updateError(UpdateSubcode.UnrecognizedWellKnown, `attribute ${type}`, whole);
      continue; // an optional attribute this speaker does not know: fine, it is discarded anyway
    }
    if ((flags & (AttrFlag.Optional | AttrFlag.Transitive)) !== known.flags)
      throw updateError(
        UpdateSubcode.AttributeFlags,
        `attribute ${type} with flags 0x${flags.toString(16)}`,
        whole,
      );
    if (known.length !== undefined && len !== known.length(ctx))
      throw updateError(UpdateSubcode.AttributeLength, `attribute ${type} of ${len} bytes`, whole);
    if (type === AttrType.Origin && (v[0] as number) > 2)
      throw updateError(UpdateSubcode.InvalidOrigin, `ORIGIN ${v[0]}`, whole);
    if (type === AttrType.AsPath) checkAsPath(v, ctx.fourOctetAs ? 4 : 2, whole);
    if (type === AttrType.As4Path) checkAsPath(v, 4, whole);
    if (type === AttrType.Communities && len % 4 !== 0)
      throw updateError(UpdateSubcode.AttributeLength, `COMMUNITIES of ${len} bytes`, whole);
    if (type === AttrType.MpReach) {
      mpReach = true;
      if (len < 5 || 5 + v.readUInt8(3) > len)
        throw updateError(UpdateSubcode.OptionalAttribute, 'MP_REACH_NLRI is cut', whole);
      const family = familyOfAfi(v.readUInt16BE(0), v.readUInt8(2));
      if (family)
        announced.push(
          ...prefixes(
            v.subarray(5 + v.readUInt8(3)),
            family,
            UpdateSubcode.OptionalAttribute,
            'MP_REACH_NLRI',
          ),
        );
    }
    if (type === AttrType.MpUnreach) {
      if (len < 3) throw updateError(UpdateSubcode.OptionalAttribute, 'MP_UNREACH_NLRI is cut', whole);
      const family = familyOfAfi(v.readUInt16BE(0), v.readUInt8(2));
      const routes = v.subarray(3);
      if (routes.length === 0 && alen === head + len && wlen === 0)
        endOfRib = { afi: v.readUInt16BE(0), safi: v.readUInt8(2) };
      if (family)
        withdrawn.push(...prefixes(routes, family, UpdateSubcode.OptionalAttribute, 'MP_UNREACH_NLRI'));
    }
  }
  const reaches = body.length > attrStart + alen || mpReach;
  if (reaches) {
    const needed = [
      AttrType.Origin,
      AttrType.AsPath,
      ...(body.length > attrStart + alen ? [AttrType.NextHop] : []),
    ];
    for (const t of needed)
      if (!types.includes(t))
        throw updateError(UpdateSubcode.MissingWellKnown, `attribute ${t} is missing`, Buffer.from([t]));
  }
  if (wlen === 0 && alen === 0 && body.length === 4) endOfRib = { afi: 1, safi: 1 };
  return { type: 'update', withdrawn, announced, attributeTypes: types, ...(endOfRib ? { endOfRib } : {}) };
}
