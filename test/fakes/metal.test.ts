// The fake Equinix Metal API (test/fakes/metal) over raw HTTP: auth, pagination, the partial hostname filter,
// assigning and unassigning an EIP with the real API's 422s and release lag, deleting a reservation by mistake,
// BGP, the metadata service, faults and the request log. The standalone runner is in metal-main.test.ts; response
// shapes are checked against the published spec in metal-contract.test.ts.
import { randomUUID } from 'node:crypto';
import { type AssignmentChange, type MetalFake, startMetalFake } from './metal/server.js';
import { api, http, seed, TOKEN } from './metal-clients.js';
import { until } from '../helpers/wait.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('fake Metal API', () => {
  const fakes: MetalFake[] = [];
  async function start(o: Partial<Parameters<typeof startMetalFake>[0]> = {}): Promise<MetalFake> {
    const f = await startMetalFake({ token: TOKEN, ...o });
    fakes.push(f);
    return f;
  }
  afterEach(async () => {
    await Promise.all(fakes.splice(0).map((f) => f.close()));
  });

  it('enforces the token: 401 {"error"} and nothing changes', async () => {
    const fake = await start();
    const { devices, eip, projectId } = seed(fake);
    for (const token of [null, 'wrong']) {
      const post = await api(fake, 'POST', `/devices/${devices[0]!.id}/ips`, { address: eip }, { token });
      expect(post.status).toBe(401);
      expect(post.body).toEqual({ error: expect.any(String) });
      const get = await api(fake, 'GET', `/projects/${projectId}/ips`, undefined, { token });
      expect(get.status).toBe(401);
    }
    expect(fake.holder(eip)).toBeUndefined();
    expect((await api(fake, 'GET', `/projects/${projectId}`)).status).toBe(200);
  });

  it('pages every list at pageSize 2: meta.next until the last page', async () => {
    const fake = await start();
    const p = fake.addProject({ name: 'p' });
    for (let i = 1; i <= 5; i++) fake.addDevice(p.id, { hostname: `node-${i}` });
    const seen: string[] = [];
    const pages: Array<{ current_page: number; last_page: number; total: number; next: boolean }> = [];
    let next: string | undefined = `${fake.apiUrl}/projects/${p.id}/devices?per_page=100`;
    while (next) {
      const res = await http(next, 'GET');
      expect(res.status).toBe(200);
      const { meta } = res.body;
      seen.push(...res.body.devices.map((d: { hostname: string }) => d.hostname));
      pages.push({
        current_page: meta.current_page,
        last_page: meta.last_page,
        total: meta.total,
        next: !!meta.next,
      });
      next = meta.next ? new URL(fake.apiUrl).origin + meta.next.href : undefined;
    }
    expect(seen).toEqual(['node-1', 'node-2', 'node-3', 'node-4', 'node-5']);
    expect(pages).toEqual([
      { current_page: 1, last_page: 3, total: 5, next: true },
      { current_page: 2, last_page: 3, total: 5, next: true },
      { current_page: 3, last_page: 3, total: 5, next: false },
    ]);
    const projects = await api(fake, 'GET', '/projects?name=p');
    expect(projects.body.projects.map((x: { id: string }) => x.id)).toEqual([p.id]);
    expect(projects.body.meta.next).toBeUndefined();
  });

  it('filters devices by hostname partially, like the real API', async () => {
    const fake = await start({ pageSize: 10 });
    const p = fake.addProject({ name: 'p' });
    for (const h of ['cp-1', 'cp-10', 'worker-1']) fake.addDevice(p.id, { hostname: h });
    const res = await api(fake, 'GET', `/projects/${p.id}/devices?hostname=cp-1`);
    expect(res.body.devices.map((d: { hostname: string }) => d.hostname)).toEqual(['cp-1', 'cp-10']);
    const search = await api(fake, 'GET', `/projects/${p.id}/devices?search=worker`);
    expect(search.body.devices.map((d: { hostname: string }) => d.hostname)).toEqual(['worker-1']);
  });

  it('assigns a free EIP (201), refuses a taken one with 422, unassigns by assignment id (204)', async () => {
    const fake = await start();
    const { devices, eip } = seed(fake);
    const [a, b] = [devices[0]!.id, devices[1]!.id];
    const created = await api(fake, 'POST', `/devices/${a}/ips`, { address: eip });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      address: eip,
      cidr: 32,
      assigned_to: { href: `/metal/v1/devices/${a}` },
      href: `/metal/v1/ips/${created.body.id}`,
    });
    expect(created.body.id).toMatch(UUID);
    expect(fake.holder(eip)).toBe(a);

    for (const [dev, address] of [
      [b, eip],
      [a, eip],
      [b, `${eip}/32`],
    ] as const) {
      const taken = await api(fake, 'POST', `/devices/${dev}/ips`, { address });
      expect(taken.status).toBe(422);
      expect(taken.body).toEqual({ errors: ['Address has already been taken'] });
    }

    expect((await api(fake, 'DELETE', `/ips/${created.body.id}`)).status).toBe(204);
    expect(fake.holder(eip)).toBeUndefined();
    expect((await api(fake, 'DELETE', `/ips/${created.body.id}`)).status).toBe(404);
    const moved = await api(fake, 'POST', `/devices/${b}/ips`, { address: `${eip}/32` });
    expect(moved.status).toBe(201);
    expect(fake.holder(eip)).toBe(b);
  });

  it('deletes the whole reservation when DELETE /ips gets the reservation id', async () => {
    const fake = await start();
    const { devices, eip, eipReservationId, projectId } = seed(fake);
    fake.assign(eip, devices[0]!.id);
    expect(fake.reservation(eip)).toEqual({ id: eipReservationId });
    expect((await api(fake, 'DELETE', `/ips/${eipReservationId}`)).status).toBe(204);
    expect(fake.reservation(eip)).toBeUndefined();
    expect(fake.holder(eip)).toBeUndefined();
    expect((await api(fake, 'GET', `/ips/${eipReservationId}`)).status).toBe(404);
    const ips = await api(fake, 'GET', `/projects/${projectId}/ips?types=public_ipv4&include=assignments`);
    expect(ips.body.ip_addresses.some((r: { address: string }) => r.address === eip)).toBe(false);
    const again = await api(fake, 'POST', `/devices/${devices[1]!.id}/ips`, { address: eip });
    expect(again.status).toBe(422);
  });

  it('answers 422 "taken" right after an unassignment while the release lag lasts', async () => {
    const fake = await start({ releaseLagMs: 600_000 });
    const { devices, eip } = seed(fake);
    const first = await api(fake, 'POST', `/devices/${devices[0]!.id}/ips`, { address: eip });
    expect((await api(fake, 'DELETE', `/ips/${first.body.id}`)).status).toBe(204);
    expect(fake.holder(eip)).toBeUndefined();
    const early = await api(fake, 'POST', `/devices/${devices[1]!.id}/ips`, { address: eip });
    expect(early.status).toBe(422);
    expect(early.body).toEqual({ errors: ['Address has already been taken'] });
    fake.setReleaseLagMs(0);
    expect((await api(fake, 'POST', `/devices/${devices[1]!.id}/ips`, { address: eip })).status).toBe(201);
  });

  it('refuses an address outside the project, in another metro, and 404s an unknown device', async () => {
    const fake = await start();
    const { devices, projectId } = seed(fake);
    fake.addReservation(projectId, { address: '147.28.200.0/30', metro: 'sv' });
    const other = fake.addProject({ name: 'other' });
    fake.addReservation(other.id, { address: '147.28.201.1' });
    const dev = devices[0]!.id;
    for (const address of ['147.28.201.1', '147.28.200.1', '203.0.113.9']) {
      const res = await api(fake, 'POST', `/devices/${dev}/ips`, { address });
      expect(res.status).toBe(422);
      expect(res.body).toEqual({ errors: [expect.any(String)] });
    }
    const missing = await api(fake, 'POST', `/devices/${randomUUID()}/ips`, { address: '147.28.100.7' });
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ errors: [expect.any(String)] });
  });

  it('lists reservations with assignments as {href} unless included, and resolves both kinds of /ips/{id}', async () => {
    const fake = await start({ pageSize: 50 });
    const { devices, eip, eipReservationId, projectId } = seed(fake);
    const { id } = fake.assign(eip, devices[2]!.id);
    const plain = await api(fake, 'GET', `/projects/${projectId}/ips?types=public_ipv4`);
    const r = plain.body.ip_addresses.find((x: { id: string }) => x.id === eipReservationId);
    expect(r.assignments).toEqual([{ href: `/metal/v1/ips/${id}` }]);
    expect(plain.body.ip_addresses.filter((x: { management: boolean }) => x.management)).toHaveLength(3);
    const full = await api(fake, 'GET', `/projects/${projectId}/ips?include=assignments&types=private_ipv4`);
    expect(full.body.ip_addresses.map((x: { type: string }) => x.type)).toEqual(
      Array(3).fill('private_ipv4'),
    );
    const expanded = await api(fake, 'GET', `/projects/${projectId}/ips?include=assignments`);
    const e = expanded.body.ip_addresses.find((x: { id: string }) => x.id === eipReservationId);
    expect(e.assignments[0]).toMatchObject({
      id,
      assigned_to: { href: `/metal/v1/devices/${devices[2]!.id}` },
    });
    expect((await api(fake, 'GET', `/ips/${id}`)).body).toMatchObject({ id, address: eip });
    expect((await api(fake, 'GET', `/ips/${eipReservationId}`)).body).toMatchObject({ type: 'public_ipv4' });
    const dev = await api(fake, 'GET', `/devices/${devices[2]!.id}/ips`);
    expect(dev.body.ip_addresses.map((a: { address: string }) => a.address)).toEqual([
      '147.28.0.7',
      '10.70.0.7',
      eip,
    ]);
  });

  it('serves BGP: neighbors as set, one session per family (422 "already has session"), bgp-config {}', async () => {
    const fake = await start();
    const { devices, projectId } = seed(fake);
    const dev = devices[0]!.id;
    expect((await api(fake, 'GET', `/projects/${projectId}/bgp-config`)).body).toEqual({});
    expect((await api(fake, 'GET', `/devices/${dev}/bgp/neighbors`)).body).toEqual({ bgp_neighbors: [] });
    const s = await api(fake, 'POST', `/devices/${dev}/bgp/sessions`, { address_family: 'ipv4' });
    expect(s.status).toBe(201);
    expect(s.body).toMatchObject({ address_family: 'ipv4', default_route: false });
    const dup = await api(fake, 'POST', `/devices/${dev}/bgp/sessions`, { address_family: 'ipv4' });
    expect(dup.status).toBe(422);
    expect(dup.body.errors[0]).toContain('already has session');
    expect((await api(fake, 'GET', `/devices/${dev}/bgp/sessions`)).body.bgp_sessions).toHaveLength(1);
    fake.setBgpConfig(projectId, { asn: 65000, md5: null });
    expect((await api(fake, 'GET', `/projects/${projectId}/bgp-config`)).body).toMatchObject({
      asn: 65000,
      status: 'enabled',
      deployment_type: 'local',
    });
    const neighbor = {
      address_family: 4 as const,
      customer_as: 65000,
      customer_ip: '10.70.0.3',
      md5_enabled: false,
      multihop: true,
      peer_as: 65530,
      peer_ips: ['169.254.255.1', '169.254.255.2'],
      routes_in: [{ route: '10.70.0.2/31', exact: true }],
      routes_out: [],
    };
    fake.setBgpNeighbors(dev, [neighbor]);
    expect((await api(fake, 'GET', `/devices/${dev}/bgp/neighbors`)).body).toEqual({
      bgp_neighbors: [neighbor],
    });
  });

  it('fills in the session neighbours only once the session exists, after afterReads more reads', async () => {
    const fake = await start();
    const { devices } = seed(fake);
    const dev = devices[0]!.id;
    const v4 = {
      address_family: 4 as const,
      customer_as: 65000,
      customer_ip: '10.70.0.3',
      md5_enabled: false,
      multihop: true,
      peer_as: 65530,
      peer_ips: ['169.254.255.1', '169.254.255.2'],
      routes_in: [],
      routes_out: [],
    };
    const v6 = { ...v4, address_family: 6 as const, customer_ip: '2604:1380::3', peer_ips: ['fc00::e'] };
    fake.setBgpSessionNeighbors(dev, [v4, v6], 2);
    const read = async () => (await api(fake, 'GET', `/devices/${dev}/bgp/neighbors`)).body.bgp_neighbors;
    expect(await read()).toEqual([]); // no session: nothing, however often it is read
    expect(await read()).toEqual([]);
    await api(fake, 'POST', `/devices/${dev}/bgp/sessions`, { address_family: 'ipv4' });
    expect(await read()).toEqual([]);
    expect(await read()).toEqual([]);
    expect(await read()).toEqual([v4]); // only the family that has a session
    await api(fake, 'POST', `/devices/${dev}/bgp/sessions`, { address_family: 'ipv6' });
    await read();
    await read();
    expect(await read()).toEqual([v4, v6]);
  });

  it('answers /metadata for the device mapped to the caller source address, 404 for another', async () => {
    const fake = await start();
    const p = fake.addProject({ name: 'p' });
    const d = fake.addDevice(p.id, {
      hostname: 'cp-1',
      privateIpv4: '10.70.0.3',
      metadataSource: '127.0.0.1',
    });
    const doc = await http(fake.metadataUrl, 'GET', undefined, { token: null, localAddress: '127.0.0.1' });
    expect(doc.status).toBe(200);
    expect(doc.body).toMatchObject({
      id: d.id,
      hostname: 'cp-1',
      metro: 'da',
      facility: 'da11',
      bgp_neighbors: [],
    });
    expect(doc.body.network.addresses).toEqual([
      expect.objectContaining({
        address: '10.70.0.3',
        gateway: '10.70.0.2',
        cidr: 31,
        public: false,
        management: true,
        address_family: 4,
      }),
    ]);
    const other = await http(fake.metadataUrl, 'GET', undefined, { token: null, localAddress: '127.0.0.2' });
    expect(other.status).toBe(404);
    expect(fake.requests.map((r) => [r.operation, r.source, r.status])).toEqual([
      ['metadata', '127.0.0.1', 200],
      ['metadata', '127.0.0.2', 404],
    ]);
  });

  it('injects 429 with rate-limit headers, 5xx JSON, a non-JSON 502, reset and hang, each within its count', async () => {
    const fake = await start();
    const { projectId } = seed(fake);
    const get = (): Promise<Awaited<ReturnType<typeof api>>> => api(fake, 'GET', `/projects/${projectId}`);
    fake.setFaults({
      status429: { count: 1, retryAfter: 2, rateLimit: { limit: 10, remaining: 0, reset: 1_900_000_000 } },
    });
    const limited = await get();
    expect(limited.status).toBe(429);
    expect(limited.headers).toMatchObject({
      'retry-after': '2',
      'x-ratelimit-limit': '10',
      'x-ratelimit-remaining': '0',
      'x-ratelimit-reset': '1900000000',
    });
    expect((await get()).status).toBe(200);

    fake.setFaults({ status5xx: { status: 503, count: 2 } });
    expect((await get()).body).toEqual({ error: expect.any(String) });
    expect((await get()).status).toBe(503);
    expect((await get()).status).toBe(200);

    fake.setFaults({ nonJson502: { match: { method: 'POST' } } });
    expect((await get()).status).toBe(200);
    const html = await api(fake, 'POST', `/devices/${randomUUID()}/ips`, { address: '1.2.3.4' });
    expect(html.status).toBe(502);
    expect(html.headers['content-type']).toMatch(/^text\/html/);
    expect(html.text).toContain('502 Bad Gateway');

    fake.setFaults({ reset: { count: 1, match: { path: /\/projects\// } } });
    await expect(get()).rejects.toMatchObject({ code: 'ECONNRESET' });
    expect((await get()).status).toBe(200);

    // Latency with a count: the slow request is still unanswered while a later one has its answer.
    fake.setFaults({ latencyMs: { ms: 600_000, count: 1, match: { path: '/metal/v1/projects' } } });
    const count = fake.requests.length;
    const slow = get();
    slow.catch(() => undefined);
    await until(() => fake.requests.length > count, 'the slow request');
    const slowRec = fake.requests.at(-1)!;
    expect((await get()).status).toBe(200);
    expect(slowRec.status).toBe(0);

    fake.setFaults({ hang: { match: { method: 'GET', path: '/metal/v1/projects' } } });
    const before = fake.requests.length;
    const hung = get();
    hung.catch(() => undefined);
    await until(() => fake.requests.length > before, 'the hung request');
    const hungRec = fake.requests.at(-1)!;
    fake.setFaults({ latencyMs: { ms: 5 } });
    expect((await get()).status).toBe(200);
    expect(hungRec.status).toBe(0);
    await fakes.pop()!.close();
    await expect(hung).rejects.toMatchObject({ code: 'ECONNRESET' });
    await expect(slow).rejects.toMatchObject({ code: 'ECONNRESET' });
  });

  it('logs requests with operation, source and status, never the token; reports assignment changes', async () => {
    const fake = await start();
    const { devices, eip } = seed(fake);
    const events: AssignmentChange[] = [];
    const off = fake.onAssignmentChange((e) => events.push(e));
    const a = await api(fake, 'POST', `/devices/${devices[1]!.id}/ips`, { address: eip });
    await api(fake, 'DELETE', `/ips/${a.body.id}`);
    off();
    fake.assign(eip, devices[0]!.id);
    expect(events.map((e) => [e.address, e.deviceId])).toEqual([
      [eip, devices[1]!.id],
      [eip, null],
    ]);
    expect(fake.requests.map((r) => [r.method, r.operation, r.status, r.source])).toEqual([
      ['POST', 'createIPAssignment', 201, '127.0.0.1'],
      ['DELETE', 'deleteIPAddress', 204, '127.0.0.1'],
    ]);
    expect(JSON.stringify(fake.requests)).not.toContain(TOKEN);
  });
});
