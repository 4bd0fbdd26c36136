// `kvip start`: config -> preflight -> elector -> service -> provider, run until SIGTERM/SIGINT.
// Everything that cannot fix itself (options, identity, kubeconfig, RBAC, interface, capabilities) is
// checked before the first change to the host and reported as one line with exit 2.
import { isIP } from 'node:net';
import { readFileSync } from 'node:fs';
import { ConfigError, type Config } from '../config/index.js';
import {
  Elector,
  KubeHttp,
  KubeLeaseStore,
  checkLeaseAccess,
  loadKubeConfig,
  systemClock,
  validateElectorConfig,
} from '../election/index.js';
import { closePacket, openPacket, sendPacket } from '../native/index.js';
import { AddressManager, VipAddressError } from '../vip/address.js';
import { ArpProvider } from '../vip/arp.js';
import { gratuitousArp, unsolicitedNa } from '../vip/frames.js';
import { CAP_NET_ADMIN, CAP_NET_RAW, missingCapabilities } from './capabilities.js';
import { createLogger, type Logger } from '../log.js';
import { VipService, type ServiceOptions } from './service.js';
import { leaseIdentity } from './identity.js';
import { EXIT_NOT_IMPLEMENTED } from '../exit-codes.js';
import { VERSION } from '../version.js';

export interface RunIo {
  err: (text: string) => void;
  env: NodeJS.ProcessEnv;
  /** Resolves when the process is asked to stop (SIGTERM/SIGINT). */
  stopSignal: Promise<string>;
  log?: Logger;
}

function ipv6Disabled(ifname: string): boolean {
  try {
    return readFileSync(`/proc/sys/net/ipv6/conf/${ifname}/disable_ipv6`, 'utf8').trim() === '1';
  } catch {
    return false;
  }
}

export async function runStart(config: Config, io: RunIo): Promise<number> {
  if (config.mode === 'packet-eip' || config.mode === 'bgp') {
    io.err(`kvip start: the ${config.mode} provider is not implemented yet\n`);
    return EXIT_NOT_IMPLEMENTED;
  }
  const log = io.log ?? createLogger(config.logLevel);
  const missing = missingCapabilities([
    { name: 'NET_ADMIN', bit: CAP_NET_ADMIN },
    ...(config.arp ? [{ name: 'NET_RAW', bit: CAP_NET_RAW }] : []),
  ]);
  if (missing.length > 0)
    throw new ConfigError(
      `missing capabilit${missing.length > 1 ? 'ies' : 'y'} ${missing.join(', ')}: run as root or add them to the pod's securityContext`,
    );

  const election = config.leaderElection ? await prepareElection(config, io, log) : undefined;
  const elector = election?.elector;

  const addresses = await AddressManager.open();
  const closeAll = () => {
    addresses.close();
    election?.close();
  };
  try {
    await addresses.link(config.interface);
    if (isIP(config.vip) === 6 && ipv6Disabled(config.interface))
      throw new ConfigError(
        `--vip ${config.vip} is IPv6 but IPv6 is disabled on ${config.interface}: ` +
          `enable it (sysctl net.ipv6.conf.${config.interface}.disable_ipv6=0) or use an IPv4 --vip`,
      );
  } catch (err) {
    closeAll();
    if (err instanceof VipAddressError) throw new ConfigError(err.message);
    throw err;
  }

  const provider = new ArpProvider({
    ifname: config.interface,
    vip: config.vip,
    prefix: config.prefixLength,
    announce: config.arp,
    arpRateMs: config.arpRate,
    addresses,
    packets: { open: openPacket, send: (fd, frame) => void sendPacket(fd, frame), close: closePacket },
    frame: isIP(config.vip) === 6 ? unsolicitedNa : gratuitousArp,
    log,
  });
  const service = new VipService({
    provider,
    elector,
    log,
    reconcileIntervalMs: Math.min(1000, config.retryPeriod * 1000),
    stopStepTimeoutMs: Math.max(2000, config.renewDeadline * 1000),
  });
  try {
    await service.start();
  } catch (err) {
    await provider.close().catch(() => undefined);
    closeAll();
    const e = err as Error & { code?: string };
    if (e.code === 'EPERM')
      throw new ConfigError(
        `${e.message}: kvip needs NET_ADMIN and NET_RAW (run as root or add them to the pod)`,
      );
    if (err instanceof VipAddressError) throw new ConfigError(err.message);
    throw err;
  }
  const signal = await io.stopSignal;
  log.info({ signal }, 'shutting down: dropping the virtual IP, then releasing the lease');
  await service.stop();
  closeAll();
  return 0;
}

type ElectorFactory = NonNullable<ServiceOptions['elector']>;

async function prepareElection(
  config: Config,
  io: RunIo,
  log: Logger,
): Promise<{ elector: ElectorFactory; close: () => void }> {
  const identity = leaseIdentity(config);
  const timing = {
    identity,
    leaseDurationMs: config.leaseDuration * 1000,
    renewDeadlineMs: config.renewDeadline * 1000,
    retryPeriodMs: config.retryPeriod * 1000,
    watch: true,
  };
  validateElectorConfig(timing);
  const conn = loadKubeConfig({ inCluster: config.inCluster, path: config.k8sConfigPath }, io.env);
  const http = new KubeHttp(conn, `kvip/${VERSION}`);
  const store = new KubeLeaseStore(http, config.namespace, config.leaseName);
  let pre;
  try {
    pre = await checkLeaseAccess(store, timing.renewDeadlineMs);
  } catch (err) {
    http.close();
    throw err;
  }
  if (!pre.ok)
    log.warn({ lease: store.description, err: pre.transient }, 'lease not reachable yet; will retry');
  log.info(
    { namespace: config.namespace, lease: config.leaseName, identity },
    `Beginning cluster membership, namespace [${config.namespace}], lock name [${config.leaseName}], id [${identity}]`,
  );
  return {
    elector: (callbacks) => new Elector(timing, { store, clock: systemClock, callbacks, log }),
    close: () => http.close(),
  };
}
