// Everything Packet mode needs before the first change, resolved once at start: the token, the project,
// this server, and the Elastic IP (its reservation, checked to be a single public address of the project in
// this server's metro). Whatever will not fix itself is a ConfigError naming the option (exit 2), and no call
// made here changes anything in Metal.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { ConfigError, type Config } from '../config/index.js';
import type { Logger } from '../log.js';
import { FloatingIpConfigError } from '../vip/floating-ip.js';
import { MetalClient, type MetalClientOptions } from './client.js';
import { MetalApiError } from './errors.js';
import { MetalFloatingIps, type MetalElasticIp } from './floating-ip.js';
import {
  MetalIdentityError,
  resolveDevice,
  resolveProject,
  type MetalDeviceRef,
  type MetalProjectRef,
} from './identity.js';

export interface PacketSetup {
  client: MetalClient;
  cloud: MetalFloatingIps;
  project: MetalProjectRef;
  device: MetalDeviceRef;
  eip: MetalElasticIp;
}

/** The Metal API token from --packetKey / PACKET_AUTH_TOKEN or --packetKeyFile. */
export function readMetalToken(config: Pick<Config, 'packetKey' | 'packetKeyFile'>): string {
  if (config.packetKey !== '') return config.packetKey;
  let text: string;
  try {
    text = readFileSync(config.packetKeyFile, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigError(
      `--packetKeyFile ${config.packetKeyFile}: cannot read it (${code}); mount the token file into the pod`,
    );
  }
  const token = text.trim();
  if (token === '' || /\s/.test(token))
    throw new ConfigError(
      `--packetKeyFile ${config.packetKeyFile}: ${token === '' ? 'the file is empty' : 'the file holds more than one word'}; it must hold the Metal API token alone`,
    );
  return token;
}

/** Why `what` (the EIP) cannot move to a server in `deviceMetro`; null when it can (or a metro is unknown). */
export function metroMismatch(
  what: string,
  eip: MetalElasticIp,
  deviceMetro: string | undefined,
): string | null {
  if (eip.metro === undefined || deviceMetro === undefined || eip.metro === deviceMetro) return null;
  return `${what} is reserved in metro ${eip.metro} but this server is in ${deviceMetro}: an Elastic IP only moves within its metro`;
}

/** What a failed start-up call means to the user, as one line; null: not a configuration problem. */
export function explainMetalError(err: unknown): string | null {
  if (err instanceof MetalIdentityError || err instanceof FloatingIpConfigError) return err.message;
  if (err instanceof MetalApiError && err.status === 401)
    return 'the Metal API refused the token (401): check --packetKey / PACKET_AUTH_TOKEN or the file --packetKeyFile names';
  if (err instanceof MetalApiError && err.status === 403)
    return `the Metal API token may not ${err.operation} (403): use a project or user API key with write access to the project`;
  return null;
}

/** Told of every Metal API attempt (metrics). */
export type MetalResponseHook = NonNullable<MetalClientOptions['onResponse']>;

export function metalClient(
  config: Config,
  token: string,
  log: Logger,
  onResponse?: MetalResponseHook,
): MetalClient {
  return new MetalClient({ baseUrl: config.packetAPIURL, token, log, timeoutMs: 5000, onResponse });
}

/** The project, and this server in it, from the flags (EIP and BGP mode alike; only GETs). */
export async function resolveProjectAndDevice(
  client: MetalClient,
  config: Config,
  log: Logger,
): Promise<{ project: MetalProjectRef; device: MetalDeviceRef }> {
  const project = await resolveProject(client, {
    projectID: config.packetProjectID,
    projectName: config.packetProject,
  });
  const device = await resolveDevice(client, {
    deviceID: config.packetDeviceID,
    metadataURL: config.packetMetadataURL,
    hostname: hostname(),
    projectId: project.id,
    log,
  });
  return { project, device };
}

export async function preparePacket(
  config: Config,
  log: Logger,
  onResponse?: MetalResponseHook,
): Promise<PacketSetup> {
  const token = readMetalToken(config);
  const client = metalClient(config, token, log, onResponse);
  try {
    const { project, device } = await resolveProjectAndDevice(client, config, log);
    const cloud = new MetalFloatingIps(client, project.id);
    const eip = await cloud.findReservation(config.vip);
    const wrongMetro = metroMismatch(`--vip ${config.vip}`, eip, device.metro);
    if (wrongMetro !== null) throw new FloatingIpConfigError(wrongMetro);
    log.info(
      {
        project: project.id,
        device: device.id,
        deviceFrom: device.source,
        hostname: device.hostname,
        eip: eip.id,
      },
      `Metal: project ${project.name}, this server ${device.hostname} (${device.id}, from ${device.source === 'flag' ? '--packetDeviceID' : device.source === 'metadata' ? 'the metadata service' : 'its exact host name'})`,
    );
    return { client, cloud, project, device, eip };
  } catch (err) {
    client.close();
    const line = explainMetalError(err);
    if (line !== null) throw new ConfigError(line);
    throw err;
  }
}
