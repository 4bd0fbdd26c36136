// Kubernetes Events for `kvip start`: the recorder, on the elector's own connection to the API server.
import type { Config } from '../config/index.js';
import type { KubeHttp } from '../election/kube-http.js';
import type { Logger } from '../log.js';
import { readMetalToken } from '../packet/setup.js';
import { involvedObject } from './event.js';
import { EventRecorder } from './recorder.js';
import { EventSender } from './sender.js';

export { EventRecorder } from './recorder.js';
export { EventSender } from './sender.js';

/** The connection the elector uses, and the Lease's uid as it last saw it. */
export interface KubeLink {
  http: () => KubeHttp;
  leaseUid: () => string | undefined;
}

/** How long shutdown gives queued Events to get out, after the lease has been released. */
export const EVENTS_FLUSH_MS = 1000;

/** Every secret the config holds: none of them may reach an Event's message. */
export function configSecrets(config: Config): string[] {
  const secrets = [config.packetKey, config.peerPass, ...config.bgpPeers.map((p) => p.password)];
  if (config.packet && config.packetKeyFile !== '') {
    try {
      secrets.push(readMetalToken(config));
    } catch {
      // Unreadable: packet setup refused to start already, or nothing of it can be in a message.
    }
  }
  return secrets.filter((s) => s !== '');
}

export function createEventRecorder(
  config: Config,
  identity: string,
  kube: KubeLink,
  env: NodeJS.ProcessEnv,
  log: Logger,
): EventRecorder {
  const sender = new EventSender({ http: kube.http, reporter: { node: identity }, log });
  return new EventRecorder({
    sender,
    target: involvedObject(env, { namespace: config.namespace, name: config.leaseName, uid: kube.leaseUid }),
    identity,
    lease: `${config.namespace}/${config.leaseName}`,
    vip: config.vip,
    secrets: configSecrets(config),
  });
}
