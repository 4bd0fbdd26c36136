// Metal as the floating-IP cloud, against a stub client: holders from expanded and from collapsed
// assignments (an API that ignored `include`), any 422 to an assign read as "taken", and only assignment ids
// ever given to an unassign.
import { MetalFloatingIps, elasticIpIn, sameAddress } from '../../src/packet/floating-ip.js';
import { MetalApiError } from '../../src/packet/errors.js';
import { FloatingIpTakenError } from '../../src/vip/floating-ip.js';
import type { MetalClient } from '../../src/packet/client.js';

const RES = '11111111-1111-4111-8111-111111111111';
const ASG = '22222222-2222-4222-8222-222222222222';
const DEV = '33333333-3333-4333-8333-333333333333';

function stub(over: Partial<Record<keyof MetalClient, unknown>>): MetalClient {
  return over as unknown as MetalClient;
}

test('holders from expanded assignments, and from collapsed ones by reading each', async () => {
  const reads: string[] = [];
  const reservation = (expanded: boolean) => ({
    id: RES,
    address: '203.0.113.100',
    cidr: 32,
    type: 'public_ipv4',
    assignments: expanded
      ? [{ id: ASG, href: `/metal/v1/ips/${ASG}`, assigned_to: { href: `/metal/v1/devices/${DEV}` } }]
      : [{ href: `/ips/${ASG}` }],
  });
  for (const expanded of [true, false]) {
    reads.length = 0;
    const cloud = new MetalFloatingIps(
      stub({
        getIp: async (id: string) => {
          reads.push(id);
          return id === RES ? reservation(expanded) : { id: ASG, assigned_to: { href: `/devices/${DEV}` } };
        },
      }),
      'p',
    );
    expect(await cloud.holders(RES)).toEqual([{ assignmentId: ASG, deviceId: DEV }]);
    expect(reads).toEqual(expanded ? [RES] : [RES, ASG]);
  }
});

test('any 422 to an assign is "taken", whatever its wording', async () => {
  for (const messages of [['Address has already been taken'], ['IP address is in use'], []]) {
    const cloud = new MetalFloatingIps(
      stub({
        assignIp: async () => {
          throw new MetalApiError({
            operation: 'assignIp',
            method: 'POST',
            path: '/devices/x/ips',
            status: 422,
            messages,
          });
        },
      }),
      'p',
    );
    await expect(cloud.assign('203.0.113.100', DEV, {})).rejects.toBeInstanceOf(FloatingIpTakenError);
  }
});

test('addresses compare by value; a VIP inside a larger block finds that block', () => {
  expect(sameAddress('2001:db8::100', '2001:0db8:0:0:0:0:0:100')).toBe(true);
  expect(sameAddress('203.0.113.100', '203.0.113.10')).toBe(false);
  const blocks = [
    { id: 'a', address: '203.0.113.104', network: '203.0.113.104', cidr: 30, type: 'public_ipv4' },
    { id: 'b', address: '2001:db8::100', cidr: 128, type: 'public_ipv6' },
  ];
  expect(elasticIpIn(blocks, '203.0.113.106')?.id).toBe('a');
  expect(elasticIpIn(blocks, '2001:db8:0::100')?.id).toBe('b');
  expect(elasticIpIn(blocks, '203.0.113.108')).toBeNull();
});
