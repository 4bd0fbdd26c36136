// What one Kubernetes Event kvip posts says, and about which object: the core/v1 Event body, a message made
// safe to post (one line, no secret, within kube's limit), and the involved object (kvip's Pod when the
// downward API names it, else the Lease).
import { microTime } from '../election/kube-store.js';

export type EventType = 'Normal' | 'Warning';

/** A core/v1 ObjectReference: the object an Event is about. */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  uid?: string;
}

/** What the recorder decided to say. */
export interface EventSpec {
  involvedObject: ObjectRef;
  type: EventType;
  /** CamelCase, what happened: StartedLeading, VipAcquireFailed. */
  reason: string;
  /** CamelCase, what kvip was doing: Lead, AcquireVip. */
  action: string;
  message: string;
}

/** Who reports: source.component and reportingController are "kvip"; host and instance the node. */
export interface Reporter {
  node: string;
}

export const COMPONENT = 'kvip';

/** kube-apiserver refuses a message over 1024 bytes (with eventTime set, as kvip sets it). */
export const MAX_MESSAGE_BYTES = 1024;
/** reportingInstance: at most 128 bytes. */
const MAX_INSTANCE_BYTES = 128;

/** The longest prefix of `text` of at most `max` bytes of UTF-8, cut between characters. */
function cutBytes(text: string, max: number): string {
  if (Buffer.byteLength(text) <= max) return text;
  let out = '';
  let size = 0;
  for (const ch of text) {
    size += Buffer.byteLength(ch);
    if (size > max) break;
    out += ch;
  }
  return out;
}

/** Whitespace runs (newlines too) collapsed into one space, none at either end. */
export const oneLine = (text: string): string => text.replace(/\s+/g, ' ').trim();

/**
 * A message fit to post: every secret replaced, whitespace runs (newlines too) collapsed into one space, and
 * at most MAX_MESSAGE_BYTES, cut with an ellipsis.
 */
export function safeMessage(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s !== '') out = out.split(s).join('[redacted]');
  out = oneLine(out);
  if (Buffer.byteLength(out) <= MAX_MESSAGE_BYTES) return out;
  const ellipsis = '…';
  return cutBytes(out, MAX_MESSAGE_BYTES - Buffer.byteLength(ellipsis)) + ellipsis;
}

/**
 * The object kvip's Events are about: its Pod when the downward API gives POD_NAME and POD_NAMESPACE (and
 * POD_UID, which `kubectl describe pod` matches on; for a static pod it is the kubelet's uid, the one kubectl
 * looks for), else the Lease, with its uid once the elector has seen it.
 */
export function involvedObject(
  env: NodeJS.ProcessEnv,
  lease: { namespace: string; name: string; uid: () => string | undefined },
): () => ObjectRef {
  const name = env.POD_NAME?.trim();
  const namespace = env.POD_NAMESPACE?.trim();
  const uid = env.POD_UID?.trim();
  if (name && namespace) {
    const pod = { apiVersion: 'v1', kind: 'Pod', namespace, name, ...(uid ? { uid } : {}) };
    return () => pod;
  }
  return () => {
    const leaseUid = lease.uid();
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      namespace: lease.namespace,
      name: lease.name,
      ...(leaseUid ? { uid: leaseUid } : {}),
    };
  };
}

/** metav1.Time: whole seconds. */
const seconds = (d: Date): string => d.toISOString().slice(0, 19) + 'Z';

/**
 * The Event to create: core/v1, named like client-go's (object name, a dot, a hex timestamp), with count
 * and first/last timestamps (what `kubectl get events` shows) and eventTime, action and the reporting fields.
 */
export function eventBody(
  name: string,
  spec: EventSpec,
  reporter: Reporter,
  seen: { count: number; first: Date; last: Date },
): object {
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name, namespace: spec.involvedObject.namespace },
    involvedObject: spec.involvedObject,
    reason: spec.reason,
    message: spec.message,
    source: { component: COMPONENT, host: reporter.node },
    firstTimestamp: seconds(seen.first),
    lastTimestamp: seconds(seen.last),
    count: seen.count,
    type: spec.type,
    eventTime: microTime(seen.first),
    action: spec.action,
    reportingComponent: COMPONENT,
    reportingInstance: cutBytes(reporter.node, MAX_INSTANCE_BYTES),
  };
}

/** The patch that counts repeats of an Event already posted. */
export function repeatPatch(count: number, last: Date): object {
  return { count, lastTimestamp: seconds(last) };
}

let sequence = Math.floor(Math.random() * 1e6);

/** `<object>.<hex>`: the time in nanoseconds (as client-go names them), unique within this process. */
export function eventName(objectName: string, at: Date): string {
  sequence = (sequence + 1) % 1e6;
  return `${objectName}.${(BigInt(at.getTime()) * 1_000_000n + BigInt(sequence)).toString(16)}`;
}
