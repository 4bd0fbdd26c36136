// Contract test: every kind of response the fake Metal API gives is validated against Equinix's published spec
// (test/fakes/metal/openapi, vendored unmodified) with openapi-backend, so the fake cannot drift into shapes the
// real API never sends. Each response must have a status the operation declares (or be one of the few the spec
// leaves out, listed in UNDECLARED with why), a JSON body exactly when the spec gives one, and that body must
// validate. The load balancer's HTML 502 is the one exemption: the spec says intermediaries may answer without
// JSON.
import { type MetalFake, startMetalFake } from './metal/server.js';
import { api as call, http, type Res, seed, TOKEN } from './metal-clients.js';
import { type SpecValidator, startSpecValidator } from './metal-spec.js';

/**
 * Statuses the fake sends that the operation does not declare, and why that is the real API's behaviour. Their
 * bodies must still be the spec's Error object.
 */
const UNDECLARED: Record<string, string> = {
  '429': 'declared on only two operations; the API rate-limits everywhere (clients parse X-RateLimit-*)',
  '500': 'the spec documents 5xx for every operation in its Errors section, not per operation',
  '503': 'likewise',
  'findBgpSessions 404': 'an unknown device is a 404 like every other /devices/{id} route',
  'createBgpSession 404': 'likewise',
};

let spec: SpecValidator;
beforeAll(async () => {
  spec = await startSpecValidator();
}, 120_000);
afterAll(async () => {
  await spec?.close();
});

describe('fake Metal API against the published spec', () => {
  let fake: MetalFake;
  const covered = new Set<string>();
  afterEach(async () => {
    await fake?.close();
  });

  /** Schema violations of `body` as operationId's `status` response. */
  async function validate(operationId: string, status: number, body: unknown): Promise<string[]> {
    const v = await spec.ask({ operationId, status, body });
    expect(v.declared).toBe(true);
    return v.errors;
  }

  /** Validates one response of the fake against the spec; returns it for the caller's own checks. */
  async function check(method: string, path: string, res: Res): Promise<Res> {
    const v = await spec.ask({ method, path, status: res.status, body: res.body });
    if (!v.operationId) throw new Error(`no operation in the spec for ${method} ${path}`);
    const key = `${v.operationId} ${res.status}`;
    if (!v.declared) {
      expect({ key, why: UNDECLARED[key] ?? UNDECLARED[String(res.status)] }).toEqual({
        key,
        why: expect.any(String),
      });
      expect(await validate('findProjects', 401, res.body)).toEqual([]); // the spec's Error object
    } else if (v.json) {
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect({ key, errors: v.errors }).toEqual({ key, errors: [] });
    } else {
      expect({ key, text: res.text }).toEqual({ key, text: '' });
    }
    covered.add(key);
    return res;
  }

  async function req(method: string, path: string, body?: unknown, token?: string | null): Promise<Res> {
    return check(method, path, await call(fake, method, path, body, { token }));
  }

  it('validates every endpoint, page, error, assignment and deletion against the spec', async () => {
    fake = await startMetalFake({ token: TOKEN });
    const { devices, eip, eipReservationId, projectId } = seed(fake);
    const [d1, d2] = [devices[0]!.id, devices[1]!.id];
    const nobody = '00000000-0000-4000-8000-000000000000';
    fake.addProject({ name: 'second' });
    fake.addProject({ name: 'third' });

    // Lists, first and last pages.
    const first = await req('GET', '/projects');
    expect(first.body.meta.next).toBeDefined();
    await req('GET', first.body.meta.last.href.slice('/metal/v1'.length));
    await req('GET', '/projects?name=kvip');
    await req('GET', `/projects/${projectId}`);
    const devs = await req('GET', `/projects/${projectId}/devices`);
    expect(devs.body.devices[0].ip_addresses.length).toBeGreaterThan(0);
    await req('GET', `/projects/${projectId}/devices?page=2&hostname=cp`);
    await req('GET', `/devices/${d1}`);
    await req('GET', `/devices/${d1}/ips`);

    // Assignments: 201, 422 (taken, not in a reservation, blank), both kinds of /ips/{id}, lists.
    const assigned = await req('POST', `/devices/${d1}/ips`, { address: eip });
    expect(assigned.status).toBe(201);
    expect((await req('POST', `/devices/${d2}/ips`, { address: eip })).status).toBe(422);
    expect((await req('POST', `/devices/${d2}/ips`, { address: '192.0.2.1' })).status).toBe(422);
    expect((await req('POST', `/devices/${d2}/ips`, {})).status).toBe(422);
    expect((await req('POST', `/devices/${nobody}/ips`, { address: eip })).status).toBe(404);
    expect((await req('GET', `/ips/${assigned.body.id}`)).body.assigned_to).toBeDefined();
    expect((await req('GET', `/ips/${eipReservationId}`)).body.assignments).toEqual([
      { href: `/metal/v1/ips/${assigned.body.id}` },
    ]);
    await req('GET', `/ips/${eipReservationId}?include=assignments`);
    for (const q of [
      '',
      '?include=assignments',
      '?types=public_ipv4&types=private_ipv4',
      '?page=3&per_page=2',
    ]) {
      await req('GET', `/projects/${projectId}/ips${q}`);
    }
    await req('GET', `/devices/${d1}`); // now with the EIP among its ip_addresses

    // BGP, before and after setup.
    await req('GET', `/projects/${projectId}/bgp-config`);
    await req('GET', `/devices/${d1}/bgp/neighbors`);
    await req('GET', `/devices/${d1}/bgp/sessions`);
    expect((await req('POST', `/devices/${d1}/bgp/sessions`, { address_family: 'ipv4' })).status).toBe(201);
    expect((await req('POST', `/devices/${d1}/bgp/sessions`, { address_family: 'ipv4' })).status).toBe(422);
    expect((await req('POST', `/devices/${d1}/bgp/sessions`, { address_family: 'ipx' })).status).toBe(422);
    fake.setBgpConfig(projectId, { asn: 65000, md5: null });
    fake.setBgpNeighbors(d1, [
      {
        address_family: 4,
        customer_as: 65000,
        customer_ip: '10.70.0.3',
        md5_enabled: true,
        md5_password: 'Secret123abc',
        multihop: true,
        peer_as: 65530,
        peer_ips: ['169.254.255.1', '169.254.255.2'],
        routes_in: [{ route: '10.70.0.2/31', exact: true }],
        routes_out: [{ route: '0.0.0.0/0', exact: true }],
      },
    ]);
    await req('GET', `/projects/${projectId}/bgp-config`);
    await req('GET', `/devices/${d1}/bgp/neighbors`);
    await req('GET', `/devices/${d1}/bgp/sessions`);

    // 404s and 401s.
    for (const p of [
      `/projects/${nobody}`,
      `/projects/${nobody}/devices`,
      `/projects/${nobody}/ips`,
      `/projects/${nobody}/bgp-config`,
      `/devices/${nobody}`,
      `/devices/${nobody}/ips`,
      `/devices/${nobody}/bgp/neighbors`,
      `/devices/${nobody}/bgp/sessions`,
      `/ips/${nobody}`,
    ]) {
      expect((await req('GET', p)).status).toBe(404);
    }
    expect((await req('POST', `/devices/${nobody}/bgp/sessions`, { address_family: 'ipv4' })).status).toBe(
      404,
    );
    expect((await req('GET', '/projects', undefined, 'wrong')).status).toBe(401);
    expect((await req('GET', `/projects/${projectId}/ips`, undefined, null)).status).toBe(401);
    expect((await req('POST', `/devices/${d2}/ips`, { address: eip }, 'wrong')).status).toBe(401);
    expect((await req('DELETE', `/ips/${assigned.body.id}`, undefined, 'wrong')).status).toBe(401);

    // 204 for an assignment and for a reservation, then 404.
    expect((await req('DELETE', `/ips/${assigned.body.id}`)).status).toBe(204);
    expect((await req('DELETE', `/ips/${eipReservationId}`)).status).toBe(204);
    expect((await req('DELETE', `/ips/${eipReservationId}`)).status).toBe(404);

    // Injected faults with JSON bodies.
    fake.setFaults({ status429: { count: 1, retryAfter: 1 } });
    expect((await req('GET', '/projects')).status).toBe(429);
    fake.setFaults({ status5xx: { status: 500, count: 1 } });
    expect((await req('GET', `/devices/${d1}`)).status).toBe(500);
    fake.setFaults({ status5xx: { status: 503, count: 1 } });
    expect((await req('POST', `/devices/${d2}/ips`, { address: eip })).status).toBe(503);

    // The load balancer's 502 is exempt: no JSON, as the spec's Errors section allows.
    fake.setFaults({ nonJson502: { count: 1 } });
    const lb = await call(fake, 'GET', '/projects');
    expect(lb.status).toBe(502);
    expect(lb.headers['content-type']).toMatch(/^text\/html/);
    expect(lb.body).toBeUndefined();

    expect([...covered].sort()).toEqual(
      [
        'createBgpSession 201',
        'createBgpSession 404',
        'createBgpSession 422',
        'createIPAssignment 201',
        'createIPAssignment 401',
        'createIPAssignment 404',
        'createIPAssignment 422',
        'createIPAssignment 503',
        'deleteIPAddress 204',
        'deleteIPAddress 401',
        'deleteIPAddress 404',
        'findBgpConfigByProject 200',
        'findBgpConfigByProject 404',
        'findBgpSessions 200',
        'findBgpSessions 404',
        'findDeviceById 200',
        'findDeviceById 404',
        'findDeviceById 500',
        'findIPAddressById 200',
        'findIPAddressById 404',
        'findIPAssignments 200',
        'findIPAssignments 404',
        'findIPReservations 200',
        'findIPReservations 401',
        'findIPReservations 404',
        'findProjectById 200',
        'findProjectById 404',
        'findProjectDevices 200',
        'findProjectDevices 404',
        'findProjects 200',
        'findProjects 401',
        'findProjects 429',
        'getBgpNeighborData 200',
        'getBgpNeighborData 404',
      ].sort(),
    );
  });

  it('validates the metadata document against the Metadata schema, except network.addresses', async () => {
    fake = await startMetalFake({ token: TOKEN });
    const p = fake.addProject({ name: 'p' });
    const d = fake.addDevice(p.id, {
      hostname: 'cp-1',
      privateIpv4: '10.70.0.3',
      publicIpv4: '147.28.0.3',
      metadataSource: '127.0.0.1',
    });
    fake.addReservation(p.id, { address: '147.28.100.7' });
    fake.assign('147.28.100.7', d.id);
    fake.setBgpNeighbors(d.id, [
      {
        address_family: 4,
        customer_as: 65000,
        customer_ip: '10.70.0.3',
        md5_enabled: false,
        multihop: true,
        peer_as: 65530,
        peer_ips: ['169.254.255.1'],
        routes_in: [],
        routes_out: [],
      },
    ]);
    const doc = (await http(fake.metadataUrl, 'GET', undefined, { token: null })).body;
    // The spec's Metadata (GET /devices/{id}/metadata) types network.addresses as strings; the metadata service
    // sends objects (packngo, network-helpers and hollow-metadataservice all read objects). Only that differs.
    const errors = await validate('findDeviceMetadataByID', 200, doc);
    expect(errors).not.toEqual([]); // ajv stops at the first error
    for (const e of errors) expect(e).toMatch(/^\/network\/addresses\/\d+ must be string/);
    const { addresses, ...network } = doc.network;
    expect(addresses).toHaveLength(3);
    expect(await validate('findDeviceMetadataByID', 200, { ...doc, network })).toEqual([]);
    // bgp_neighbors is not in the Metadata schema; it carries the same objects as GET /devices/{id}/bgp/neighbors.
    expect(await validate('getBgpNeighborData', 200, { bgp_neighbors: doc.bgp_neighbors })).toEqual([]);
  });

  it('rejects wrong shapes, so a drifting fake fails this test', async () => {
    const op = 'createIPAssignment';
    const good = { id: '3fa85f64-5717-4562-b3fc-2c963f66afa6', address: '147.28.100.7', cidr: 32 };
    expect(await validate(op, 201, good)).toEqual([]);
    expect(await validate(op, 201, { ...good, id: 'not-a-uuid' })).not.toEqual([]);
    expect(await validate(op, 201, { ...good, cidr: '32' })).not.toEqual([]);
    expect(await validate(op, 201, { ...good, assigned_to: {} })).not.toEqual([]); // Href requires href
    const list = 'findIPReservations';
    expect(await validate(list, 200, { ip_addresses: [{ type: 'public_ipv4', bogus: 1 }] })).not.toEqual([]);
    expect(await validate(list, 200, { ip_addresses: [], meta: { next: { href: 1 } } })).not.toEqual([]);
  });
});
