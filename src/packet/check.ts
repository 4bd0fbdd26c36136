// `kvip check --packet`: the Metal part of the preflight. Every step is a read (GET) and each one that can
// run does, so one run shows everything that is wrong; a step that depends on a failed one says so.
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import type { Config } from '../config/index.js';
import { ConfigError } from '../config/index.js';
import type { Logger } from '../log.js';
import { bgpNotEnabled, neighborPeers } from './bgp-source.js';
import { metadataOnce, ownPrivateIpv4 } from './bgp-setup.js';
import type { MetalClient } from './client.js';
import { MetalFloatingIps } from './floating-ip.js';
import {
  MetalIdentityError,
  resolveDevice,
  resolveProject,
  type MetalDeviceRef,
  type MetalProjectRef,
} from './identity.js';
import { MetalApiError } from './errors.js';
import { planPeerRoutes, routeCommand, type RoutePort } from './peer-routes.js';
import { explainMetalError, metalClient, metroMismatch, readMetalToken } from './setup.js';
import type { CheckRow } from '../check/row.js';

export type { CheckRow } from '../check/row.js';

const SOURCE: Record<MetalDeviceRef['source'], string> = {
  flag: 'from --packetDeviceID',
  metadata: 'from the metadata service',
  hostname: 'by its exact host name',
};

function why(err: unknown): string {
  return explainMetalError(err) ?? (err instanceof Error ? err.message : String(err));
}

export interface CheckDeps {
  /** The kernel's routes, for the BGP peers' routes row (--bgp); without it that row is left out. */
  routes?: RoutePort;
}

export async function checkPacket(config: Config, log: Logger, deps: CheckDeps = {}): Promise<CheckRow[]> {
  const rows: CheckRow[] = [];
  let token: string;
  try {
    token = readMetalToken(config);
  } catch (err) {
    rows.push({
      check: 'Metal API token',
      ok: false,
      detail: err instanceof ConfigError ? err.message : why(err),
    });
    return rows;
  }
  const client = metalClient(config, token, log);
  let project: MetalProjectRef | undefined;
  try {
    project = await resolveProject(client, {
      projectID: config.packetProjectID,
      projectName: config.packetProject,
    });
    rows.push({ check: 'Metal API token', ok: true, detail: `accepted by ${config.packetAPIURL}` });
    rows.push({ check: 'project', ok: true, detail: `${project.name} (${project.id})` });
  } catch (err) {
    // The token counts as good only when the API answered it: a project that is not found says so, a
    // 401 says the opposite, and anything else (unreachable, 5xx) leaves it unknown.
    const answered =
      err instanceof MetalIdentityError ||
      (err instanceof MetalApiError && err.status !== undefined && err.status !== 401 && err.status < 500);
    const refused = err instanceof MetalApiError && err.status === 401;
    rows.push({
      check: 'Metal API token',
      ok: answered,
      detail: answered
        ? 'accepted'
        : refused
          ? why(err)
          : `not checked: the Metal API did not answer (${why(err)})`,
    });
    if (answered) rows.push({ check: 'project', ok: false, detail: why(err) });
    client.close();
    return rows;
  }
  let device: MetalDeviceRef | undefined;
  try {
    device = await resolveDevice(client, {
      deviceID: config.packetDeviceID,
      metadataURL: config.packetMetadataURL,
      hostname: hostname(),
      projectId: project.id,
      log,
    });
    rows.push({
      check: 'this server',
      ok: true,
      detail: `${device.hostname} (${device.id}), ${SOURCE[device.source]}`,
    });
  } catch (err) {
    rows.push({ check: 'this server', ok: false, detail: why(err) });
  }
  if (config.bgp) rows.push(...(await checkBgp(config, client, project, device, deps.routes)));
  try {
    const eip = await new MetalFloatingIps(client, project.id).findReservation(config.vip);
    const wrongMetro = metroMismatch(eip.address, eip, device?.metro);
    rows.push({
      check: 'Elastic IP',
      ok: wrongMetro === null,
      detail:
        wrongMetro ?? `${eip.address}/${eip.cidr} (${eip.type}${eip.metro ? `, metro ${eip.metro}` : ''})`,
    });
    const holders = eip.holders.map((h) =>
      h.deviceId === device?.id ? `${h.deviceId} (this server)` : h.deviceId,
    );
    rows.push({
      check: 'assigned to',
      ok: eip.holders.length <= 1,
      detail:
        eip.holders.length === 0
          ? config.bgp
            ? 'nobody (the leader announces it by BGP)'
            : 'nobody yet (the leader assigns it)'
          : eip.holders.length === 1
            ? (holders[0] as string)
            : `${holders.join(', ')}: more than one assignment; remove all but one in the Metal console`,
    });
  } catch (err) {
    rows.push({ check: 'Elastic IP', ok: false, detail: why(err) });
  }
  client.close();
  return rows;
}

/**
 * --bgp rows, reads only (no session is created here): BGP enabled for the project; this server's neighbours
 * (none yet is fine, kvip creates the session at start); the routes to Metal's peers, when `routes` is given.
 */
async function checkBgp(
  config: Config,
  client: MetalClient,
  project: MetalProjectRef,
  device: MetalDeviceRef | undefined,
  routes: RoutePort | undefined,
): Promise<CheckRow[]> {
  const rows: CheckRow[] = [];
  let enabled = false;
  try {
    const off = bgpNotEnabled(project, await client.getBgpConfig(project.id));
    enabled = off === null;
    rows.push({ check: 'BGP on the project', ok: enabled, detail: off ?? 'enabled' });
  } catch (err) {
    rows.push({ check: 'BGP on the project', ok: false, detail: why(err) });
  }
  if (!device) return rows;
  const family = isIP(config.vip) === 6 ? 6 : 4;
  const timing = { family, holdTimeS: config.holdTime, keepaliveS: config.keepaliveInterval } as const;
  let peers;
  try {
    const neighbors = await client.getBgpNeighbors(device.id);
    if (!neighbors.some((n) => n.address_family === family)) {
      const fam = family === 4 ? 'ipv4' : 'ipv6';
      rows.push({
        check: 'BGP neighbours',
        ok: enabled,
        detail: `none yet${enabled ? `: kvip creates this server's ${fam} session when it starts` : ''}`,
      });
      return rows;
    }
    peers = neighborPeers(neighbors, timing).peers;
    const p0 = peers[0] as (typeof peers)[number];
    const how = [p0.ttl === 255 ? 'multihop' : '', p0.password !== undefined ? 'MD5' : '']
      .filter(Boolean)
      .join(', ');
    rows.push({
      check: 'BGP neighbours',
      ok: true,
      detail: `${peers.map((p) => p.address).join(', ')} (AS ${p0.peerAs}${how ? `, ${how}` : ''})`,
    });
  } catch (err) {
    rows.push({ check: 'BGP neighbours', ok: false, detail: why(err) });
    return rows;
  }
  if (!routes) return rows;
  try {
    const own = await ownPrivateIpv4(device.id, metadataOnce(config, undefined), client);
    if (!own) throw new Error("neither the metadata service nor the API names this server's private gateway");
    const plan = await planPeerRoutes(peers, own.gateway, routes);
    const missing = plan.filter((r) => r.state === 'missing').map((r) => r.peer);
    const via = plan.filter((r) => r.state === 'present').map((r) => r.peer);
    rows.push({
      check: 'routes to the BGP peers',
      ok: true,
      detail:
        missing.length > 0
          ? `missing: kvip adds them when it starts (it needs CAP_NET_ADMIN), or run: ${missing.map((m) => routeCommand(m, own.gateway)).join(' && ')}`
          : via.length > 0
            ? `${via.join(', ')} via ${own.gateway}`
            : 'none needed',
    });
  } catch (err) {
    rows.push({ check: 'routes to the BGP peers', ok: false, detail: why(err) });
  }
  return rows;
}
