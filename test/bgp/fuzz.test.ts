// The parser under random and mutated input: whatever arrives, in whatever chunks, the only thing that may
// come out of it is a message or a BgpError (the NOTIFICATION to send), and it always returns.
import fc from 'fast-check';
import { BgpError } from '../../src/bgp/errors.js';
import { MessageReader, parseMessage } from '../../src/bgp/parse.js';
import {
  encodeAnnounce,
  encodeCease,
  encodeKeepalive,
  encodeOpen,
  encodeWithdraw,
} from '../../src/bgp/wire.js';

const valid: Buffer[] = [
  encodeOpen({ localAs: 64512, holdTime: 9, routerId: '198.51.100.1' }),
  encodeOpen({ localAs: 4200000001, holdTime: 90, routerId: '198.51.100.1', families: [6] }),
  encodeKeepalive(),
  encodeCease(2, 'shutdown'),
  encodeAnnounce(['203.0.113.100/32', '198.51.100.0/24'], {
    localAs: 64512,
    ibgp: true,
    fourOctetAs: false,
    nextHop: '198.51.100.1',
    communities: [1, 2],
  }),
  encodeAnnounce(['2001:db8::100/128'], {
    localAs: 64512,
    ibgp: false,
    fourOctetAs: true,
    nextHop: '2001:db8::1',
  }),
  encodeWithdraw(['203.0.113.100/32']),
  encodeWithdraw(['2001:db8::/64']),
];

type Outcome = 'message' | 'bgp-error';

/** Feeds bytes in the given chunk sizes; returns what came out, or throws what was not a BgpError. */
function feed(bytes: Buffer, chunks: number[], fourOctetAs: boolean): Outcome[] {
  const reader = new MessageReader();
  const out: Outcome[] = [];
  let at = 0;
  let i = 0;
  try {
    while (at < bytes.length) {
      const n = Math.max(1, chunks[i++ % Math.max(1, chunks.length)] ?? 1);
      for (const m of reader.push(bytes.subarray(at, at + n))) {
        parseMessage(m, { fourOctetAs });
        out.push('message');
      }
      at += n;
    }
  } catch (err) {
    if (err instanceof BgpError) {
      expect(err.code).toBeGreaterThanOrEqual(1);
      expect(err.code).toBeLessThanOrEqual(6);
      out.push('bgp-error');
      return out;
    }
    throw err;
  }
  return out;
}

const chunking = fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 8 });

describe('the parser under fuzzing', () => {
  it('random bytes never escape as anything but a BgpError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), chunking, fc.boolean(), (bytes, chunks, as4) => {
        feed(Buffer.from(bytes), chunks, as4);
      }),
      { numRuns: 3000 },
    );
  });

  it('random bodies behind a valid marker reach the per-type parsers and never escape', () => {
    const framed = fc
      .tuple(fc.integer({ min: 1, max: 5 }), fc.uint8Array({ maxLength: 300 }))
      .map(([type, body]) => {
        const h = Buffer.alloc(19, 0xff);
        h.writeUInt16BE(19 + body.length, 16);
        h.writeUInt8(type, 18);
        return Buffer.concat([h, Buffer.from(body)]);
      });
    fc.assert(
      fc.property(
        fc.array(framed, { minLength: 1, maxLength: 4 }),
        chunking,
        fc.boolean(),
        (msgs, chunks, as4) => {
          feed(Buffer.concat(msgs), chunks, as4);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('valid messages with bytes flipped, cut or inserted never escape', () => {
    const mutation = fc.record({
      base: fc.integer({ min: 0, max: valid.length - 1 }),
      flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
      cut: fc.option(fc.nat()),
      insert: fc.option(fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 8 }))),
    });
    fc.assert(
      fc.property(mutation, chunking, fc.boolean(), (m, chunks, as4) => {
        let b = Buffer.from(valid[m.base] as Buffer);
        for (const [at, v] of m.flips) if (b.length > 0) b[at % b.length] = v;
        if (m.insert) {
          const at = m.insert[0] % (b.length + 1);
          b = Buffer.concat([b.subarray(0, at), Buffer.from(m.insert[1]), b.subarray(at)]);
        }
        if (m.cut !== null) b = b.subarray(0, m.cut % (b.length + 1));
        feed(b, chunks, as4);
      }),
      { numRuns: 5000 },
    );
  });

  it('the unmutated messages all parse (the fuzzing starts from valid input)', () => {
    // as sent on a session where both sides have the 4-octet AS capability
    for (const m of valid) expect(feed(m, [7], true)).toEqual(['message']);
  });
});
