// Which project, and which server this is. The device id comes from --packetDeviceID, else the metadata
// service (it answers for the caller's own address, no token), else an EXACT hostname match over every page
// of the project's devices: the API's hostname filter matches substrings, so "cp1" would also find "cp10".
// kube-vip guessed from os.Hostname() alone; the log here says which source was used.
import type { Logger } from '../log.js';
import type { MetalClient } from './client.js';
import { MetalApiError } from './errors.js';
import { fetchMetadata } from './metadata.js';
import { lastSegment, type MetalDevice } from './types.js';

export class MetalIdentityError extends Error {
  override name = 'MetalIdentityError';
}

export interface MetalProjectRef {
  id: string;
  name: string;
}

export async function resolveProject(
  client: MetalClient,
  o: { projectID: string; projectName: string },
): Promise<MetalProjectRef> {
  if (o.projectID !== '') {
    try {
      const p = await client.getProject(o.projectID);
      return { id: p.id, name: p.name };
    } catch (err) {
      if (err instanceof MetalApiError && (err.status === 404 || err.status === 403))
        throw new MetalIdentityError(
          `--packetProjectID ${o.projectID}: no such project for this token (${err.status}); check the id, or pass --packetProject with its name`,
        );
      throw err;
    }
  }
  const all = await client.findProjects();
  const found = all.filter((p) => p.name === o.projectName);
  if (found.length === 0)
    throw new MetalIdentityError(
      `--packetProject ${JSON.stringify(o.projectName)}: no project of that exact name for this token; pass the name as Metal shows it, or --packetProjectID`,
    );
  if (found.length > 1)
    throw new MetalIdentityError(
      `--packetProject ${JSON.stringify(o.projectName)}: ${found.length} projects have that name; pass --packetProjectID`,
    );
  const p = found[0] as MetalProjectRef;
  return { id: p.id, name: p.name };
}

export type DeviceSource = 'flag' | 'metadata' | 'hostname';

export interface MetalDeviceRef {
  id: string;
  hostname: string;
  metro: string | undefined;
  source: DeviceSource;
}

function inProject(d: MetalDevice & { project?: { href?: string } }, projectId: string): boolean {
  return d.project?.href === undefined || lastSegment(d.project.href) === projectId;
}

async function deviceById(
  client: MetalClient,
  id: string,
  projectId: string,
  source: DeviceSource,
  what: string,
): Promise<MetalDeviceRef> {
  let d: MetalDevice & { project?: { href?: string } };
  try {
    d = await client.getDevice(id);
  } catch (err) {
    if (err instanceof MetalApiError && (err.status === 404 || err.status === 403))
      throw new MetalIdentityError(`${what} ${id}: no such device for this token (${err.status})`);
    throw err;
  }
  if (!inProject(d, projectId))
    throw new MetalIdentityError(`${what} ${id}: the device is not in project ${projectId}`);
  return { id: d.id, hostname: d.hostname, metro: d.metro?.code, source };
}

export async function resolveDevice(
  client: MetalClient,
  o: { deviceID: string; metadataURL: string; hostname: string; projectId: string; log: Logger },
): Promise<MetalDeviceRef> {
  if (o.deviceID !== '') return deviceById(client, o.deviceID, o.projectId, 'flag', '--packetDeviceID');
  // Only a metadata service that did not name a device (no answer, an error, a document without an id)
  // falls back to the host name; once it named one, that device must be found (an API failure there is not
  // a reason to guess).
  let metadataError = '';
  let fromMetadata: string | undefined;
  try {
    fromMetadata = (await fetchMetadata(o.metadataURL, { timeoutMs: 2000, retries: 1 })).id;
  } catch (err) {
    metadataError = err instanceof Error ? err.message : String(err);
    o.log.warn(
      { err: metadataError },
      'the metadata service did not name this device; looking for this host name in the project',
    );
  }
  if (fromMetadata !== undefined)
    return deviceById(client, fromMetadata, o.projectId, 'metadata', 'the metadata service names device');
  const devices = await client.findProjectDevices(o.projectId, { hostname: o.hostname });
  const exact = devices.filter((d) => d.hostname === o.hostname);
  if (exact.length === 1) {
    const d = exact[0] as MetalDevice;
    return { id: d.id, hostname: d.hostname, metro: d.metro?.code, source: 'hostname' };
  }
  throw new MetalIdentityError(
    exact.length > 1
      ? `${exact.length} devices in the project are named ${JSON.stringify(o.hostname)}: pass --packetDeviceID`
      : `this server is not found: the metadata service failed (${metadataError}) and no device in the project is named exactly ${JSON.stringify(o.hostname)}; pass --packetDeviceID`,
  );
}
