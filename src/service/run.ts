// `kvip start`: config -> preflight -> elector -> service -> provider, run until SIGTERM/SIGINT.
// Everything that cannot fix itself (options, identity, kubeconfig, RBAC, interface, capabilities) is
// checked before the first change to the host and reported as one line with exit 2; so is an address the
// metrics server cannot listen on (it listens first). The one change made before that: a VIP left on this
// node by an earlier run is removed first, so a node that then exits 2 or waits for its API server never
// answers for the VIP.
import { isIP } from 'node:net';
import { readFileSync } from 'node:fs';
import { ConfigError, type Config } from '../config/index.js';
import { AddressManager, VipAddressError } from '../vip/address.js';
import { removeStaleVip } from '../vip/stale.js';
import { preparePacket, type PacketSetup } from '../packet/setup.js';
import { buildProvider } from './providers.js';
import { leaseIdentity } from './identity.js';
import { missingCapabilities, neededCapabilities, raiseCapabilities } from './capabilities.js';
import { createLogger, type Logger } from '../log.js';
import { VipService, withTimeout } from './service.js';
import { prepareElection } from './election.js';
import { EXIT_FAILED } from '../exit-codes.js';
import { prepareBgp } from './bgp.js';
import type { BgpSetup } from './providers.js';
import { fanOut, type ServiceObserver } from './observer.js';
import { openStatus } from '../metrics/index.js';
import { createEventRecorder, EVENTS_FLUSH_MS } from '../events/index.js';

export interface RunIo {
  err: (text: string) => void;
  env: NodeJS.ProcessEnv;
  /** Resolves when the process is asked to stop (SIGTERM/SIGINT). */
  stopSignal: Promise<string>;
  log?: Logger;
}

/** How long a fatal error may spend dropping the VIP before the process exits anyway. */
const FATAL_DROP_MS = 1000;

function ipv6Disabled(ifname: string): boolean {
  try {
    return readFileSync(`/proc/sys/net/ipv6/conf/${ifname}/disable_ipv6`, 'utf8').trim() === '1';
  } catch {
    return false;
  }
}

export async function runStart(config: Config, io: RunIo): Promise<number> {
  const log = io.log ?? createLogger(config.logLevel);
  const needed = neededCapabilities(config);
  raiseCapabilities(needed);
  const missing = missingCapabilities(needed);
  if (missing.length > 0)
    throw new ConfigError(
      `missing capabilit${missing.length > 1 ? 'ies' : 'y'} ${missing.join(', ')}: run as root or add them to the pod's securityContext ` +
        "(as non-root, kvip's image gives node file capabilities, which allowPrivilegeEscalation: false turns off)",
    );

  const status = await openStatus(config);
  const addresses = await AddressManager.open().catch(async (err: unknown) => {
    await status.close();
    throw err;
  });
  let election: Awaited<ReturnType<typeof prepareElection>> | undefined;
  let packet: PacketSetup | undefined;
  let bgp: BgpSetup | undefined;
  const closeAll = () => {
    void status.close();
    addresses.close();
    election?.close();
    packet?.client.close();
  };
  try {
    // In Packet mode, and BGP mode on lo, the VIP is on lo on every node: a restart must not take it from
    // the node the network routes it to. Anywhere else it is stale.
    const onEveryNode = config.mode === 'packet-eip' || (config.mode === 'bgp' && config.interface === 'lo');
    await removeStaleVip(addresses, config.vip, log, onEveryNode ? config.interface : undefined);
    if (config.mode === 'packet-eip') packet = await preparePacket(config, log, status.metrics.metalResponse);
    if (config.leaderElection) election = await prepareElection(config, io, log);
    await addresses.link(config.interface);
    if (isIP(config.vip) === 6 && ipv6Disabled(config.interface))
      throw new ConfigError(
        `--vip ${config.vip} is IPv6 but IPv6 is disabled on ${config.interface}: ` +
          `enable it (sysctl net.ipv6.conf.${config.interface}.disable_ipv6=0) or use an IPv4 --vip`,
      );
    // Last: with --packet this creates the device's BGP session and adds host routes to Metal's peers, so
    // every check that can refuse to start has passed by then.
    if (config.mode === 'bgp') bgp = await prepareBgp(config, log, status.metrics.metalResponse);
  } catch (err) {
    closeAll();
    if (err instanceof VipAddressError) throw new ConfigError(err.message);
    throw err;
  }

  // Fatal errors (a bug: an uncaught exception, a failed election loop, a VIP that cannot be removed):
  // drop the VIP at once, do not release the lease (it expires), exit 1; the next start cleans up. The
  // rtnetlink calls are synchronous in the addon, so the removal completes within microtasks: no timer (a
  // repeat announcement) and no I/O event runs between the fatal error and the address going away.
  let onFatal: (err: unknown) => void = () => undefined;
  const fatal = new Promise<unknown>((resolve) => (onFatal = resolve));
  const onUncaught = (err: unknown) => onFatal(err);
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUncaught);

  // The provider reads the service's predicate, which exists once the service does (before it starts).
  const leading = { now: (): boolean => false, lease: (): boolean => false };
  const provider = buildProvider(
    config,
    {
      addresses,
      log,
      leadingNow: () => leading.now(),
      leaseValid: () => leading.lease(),
      identity: leaseIdentity(config),
      ...(packet ? { packet } : {}),
      ...(bgp ? { bgp } : {}),
      hooks: status.metrics,
    },
    io.env,
  );
  // Who is told what the service does (metrics, Kubernetes Events); none of them is on the VIP path.
  const observers: ServiceObserver[] = [status.metrics];
  // Events go over the elector's connection: only with --leaderElection is there one.
  const events = election && createEventRecorder(config, leaseIdentity(config), election.kube, io.env, log);
  if (events) observers.push(events);
  const service = new VipService({
    provider,
    observers,
    elector: election?.elector,
    log,
    reconcileIntervalMs: Math.min(1000, config.retryPeriod * 1000),
    stopStepTimeoutMs: Math.max(2000, config.renewDeadline * 1000),
    dropFailureLimitMs: config.leaseDuration * 1000,
    onFatal: (err) => onFatal(err),
  });
  const gate = election?.gate;
  const tellObservers = fanOut(observers, log);
  gate?.subscribe((open) => tellObservers.gateChanged(open, open ? '' : gate.closedReason()));
  if (gate) status.watchGate(gate);
  leading.now = service.leadingNow;
  leading.lease = service.leaseValid;
  const detach = () => {
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onUncaught);
  };
  try {
    await service.start();
  } catch (err) {
    detach();
    await provider.close().catch(() => undefined);
    await events?.close(0);
    closeAll();
    const e = err as Error & { code?: string };
    if (e.code === 'EPERM')
      throw new ConfigError(
        `${e.message}: kvip needs NET_ADMIN and NET_RAW (run as root or add them to the pod)`,
      );
    if (err instanceof VipAddressError) throw new ConfigError(err.message);
    throw err;
  }
  status.health.serviceStarted();
  const outcome = await Promise.race([
    io.stopSignal.then((signal) => ({ signal })),
    fatal.then((err) => ({ err })),
  ]);
  if ('err' in outcome) {
    service.halt();
    const message = outcome.err instanceof Error ? outcome.err.message : String(outcome.err);
    status.health.failed(message);
    log.error(
      { err: message },
      'fatal error: removing the virtual IP and exiting; the lease is left to expire',
    );
    await withTimeout(provider.release(), FATAL_DROP_MS, 'removing the virtual IP').catch((err: unknown) =>
      log.error({ err: String(err) }, 'removing the virtual IP failed'),
    );
    detach();
    await status.close();
    return EXIT_FAILED;
  }
  log.info({ signal: outcome.signal }, 'shutting down: dropping the virtual IP, then releasing the lease');
  status.health.stopping();
  const { vipDropped } = await service.stop();
  // The lease is released by now: what is still queued (StoppedLeading) gets a bounded moment to be posted.
  await events?.close(EVENTS_FLUSH_MS);
  detach();
  closeAll();
  await status.close();
  return vipDropped ? 0 : EXIT_FAILED;
}
