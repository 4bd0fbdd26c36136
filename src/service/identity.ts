import { hostname } from 'node:os';
import { ConfigError, type Config } from '../config/index.js';

/** The name this node holds the Lease under: --nodeName, else the host name (a static pod shares it). */
export function leaseIdentity(config: Config): string {
  const identity = config.nodeName !== '' ? config.nodeName : hostname().toLowerCase();
  if (identity.trim() === '')
    throw new ConfigError(
      '--nodeName (vip_nodename) is empty and the host name is unknown: set the node name',
    );
  return identity;
}
