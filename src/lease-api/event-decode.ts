// Decoding (400) and validation (422) of core/v1 Event bodies, as kube-apiserver does them for a request to
// /api/v1: typed JSON decoding with unknown fields dropped, metav1.Time and MicroTime, then the "legacy" Event
// rules (the strict events.k8s.io/v1 rules do not apply to core/v1) and the common ObjectMeta name rule.
import { cannotHandle, type KubeStatus, type StatusCause } from './status.js';
import type { LeaseMeta } from './types.js';
import {
  cause,
  DecodeError,
  decodeMeta,
  DNS1123_SUBDOMAIN,
  int32,
  micro,
  obj,
  parseBody,
  str,
  DNS1123_DETAIL,
} from './validate.js';

export interface ObjectReference {
  kind?: string;
  namespace?: string;
  name?: string;
  uid?: string;
  apiVersion?: string;
  resourceVersion?: string;
  fieldPath?: string;
}

/**
 * A core/v1 Event as kube-apiserver serialises it: the fields without omitempty (source, the three times,
 * reportingComponent, reportingInstance) are always there, null or empty when unset.
 */
export interface CoreEvent {
  kind: 'Event';
  apiVersion: 'v1';
  metadata: LeaseMeta;
  involvedObject: ObjectReference;
  reason?: string;
  message?: string;
  source: { component?: string; host?: string };
  firstTimestamp: string | null;
  lastTimestamp: string | null;
  count?: number;
  type?: string;
  eventTime: string | null;
  series?: { count?: number; lastObservedTime: string | null };
  action?: string;
  related?: ObjectReference;
  reportingComponent: string;
  reportingInstance: string;
}

export type DecodedEvent =
  { ok: true; event: CoreEvent; generateName?: string } | { ok: false; status: KubeStatus };

const TIME_LAYOUT = '2006-01-02T15:04:05Z07:00';
const RFC3339 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** metav1.Time: RFC 3339 in, whole seconds in UTC out (kube drops the fraction); null when unset. */
function time(v: unknown, field: string): string | null {
  const s = str(v, field);
  if (s === undefined || s === '') return null;
  const m = RFC3339.exec(s);
  const ms = m ? Date.parse(`${m[1]}${m[3]}`) : NaN;
  if (Number.isNaN(ms)) throw new DecodeError(`parsing time "${s}" as "${TIME_LAYOUT}": cannot parse`);
  return new Date(ms).toISOString().slice(0, 19) + 'Z';
}

const REF_FIELDS = [
  'kind',
  'namespace',
  'name',
  'uid',
  'apiVersion',
  'resourceVersion',
  'fieldPath',
] as const;

function reference(v: unknown, field: string): ObjectReference {
  const o = obj(v, `Event.${field}`, 'v1.ObjectReference');
  const ref: ObjectReference = {};
  for (const k of REF_FIELDS) {
    const x = str(o[k], `ObjectReference.${field}.${k}`);
    if (x) ref[k] = x;
  }
  return ref;
}

/** Decodes a request body into an Event (400 on malformed JSON, wrong kind or wrongly typed fields). */
export function decodeEvent(raw: string): DecodedEvent {
  const parsed = parseBody(raw, 'Event', 'v1');
  if (!parsed.ok) return parsed;
  const b = parsed.body;
  try {
    const { metadata, generateName } = decodeMeta(b.metadata, 'Event');
    const source = obj(b.source, 'Event.source', 'v1.EventSource');
    const component = str(source.component, 'EventSource.source.component');
    const host = str(source.host, 'EventSource.source.host');
    const event: CoreEvent = {
      kind: 'Event',
      apiVersion: 'v1',
      metadata,
      involvedObject: reference(b.involvedObject, 'involvedObject'),
      source: { ...(component ? { component } : {}), ...(host ? { host } : {}) },
      firstTimestamp: time(b.firstTimestamp, 'Event.firstTimestamp'),
      lastTimestamp: time(b.lastTimestamp, 'Event.lastTimestamp'),
      eventTime: micro(b.eventTime, 'Event.eventTime') ?? null,
      reportingComponent: str(b.reportingComponent, 'Event.reportingComponent') ?? '',
      reportingInstance: str(b.reportingInstance, 'Event.reportingInstance') ?? '',
    };
    const optional: [keyof CoreEvent, string | number | undefined][] = [
      ['reason', str(b.reason, 'Event.reason')],
      ['message', str(b.message, 'Event.message')],
      ['count', int32(b.count, 'Event.count')],
      ['type', str(b.type, 'Event.type')],
      ['action', str(b.action, 'Event.action')],
    ];
    for (const [k, v] of optional) if (v) (event as unknown as Record<string, unknown>)[k] = v;
    if (b.related !== undefined && b.related !== null) event.related = reference(b.related, 'related');
    if (b.series !== undefined && b.series !== null) {
      const s = obj(b.series, 'Event.series', 'v1.EventSeries');
      const count = int32(s.count, 'EventSeries.series.count');
      event.series = {
        ...(count ? { count } : {}),
        lastObservedTime: micro(s.lastObservedTime, 'EventSeries.series.lastObservedTime') ?? null,
      };
    }
    // Keys in kube's order (Go struct order), whatever order they came in.
    const ordered = {
      kind: event.kind,
      apiVersion: event.apiVersion,
      metadata: event.metadata,
      involvedObject: event.involvedObject,
      reason: event.reason,
      message: event.message,
      source: event.source,
      firstTimestamp: event.firstTimestamp,
      lastTimestamp: event.lastTimestamp,
      count: event.count,
      type: event.type,
      eventTime: event.eventTime,
      series: event.series,
      action: event.action,
      related: event.related,
      reportingComponent: event.reportingComponent,
      reportingInstance: event.reportingInstance,
    };
    const clean = JSON.parse(JSON.stringify(ordered)) as CoreEvent; // drops the undefined ones
    return generateName ? { ok: true, event: clean, generateName } : { ok: true, event: clean };
  } catch (e) {
    if (e instanceof DecodeError) return { ok: false, status: cannotHandle(e.message, 'Event') };
    throw e;
  }
}

const required = (field: string): StatusCause => ({
  reason: 'FieldValueRequired',
  message: 'Required value',
  field,
});

const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

/** kube's IsQualifiedName: an optional DNS subdomain prefix and '/', then a name of at most 63 characters. */
function qualifiedNameProblem(value: string): string | null {
  const parts = value.split('/');
  const name = parts.length === 2 ? parts[1]! : parts[0]!;
  if (parts.length > 2 || (parts.length === 2 && (!parts[0] || !DNS1123_SUBDOMAIN.test(parts[0]))))
    return "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')";
  if (name.length > 63) return 'name part must be no more than 63 characters';
  if (!QUALIFIED_NAME.test(name))
    return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
  return null;
}

/** A Go string's length: bytes of UTF-8, which is what kube's limits count. */
const bytes = (s: string | undefined): number => Buffer.byteLength(s ?? '');

function tooLong(field: string, value: string | undefined, limit: number): StatusCause[] {
  return bytes(value) > limit ? [cause(field, '""', `can have at most ${limit} characters`)] : [];
}

/**
 * kube's legacyValidateEvent, the rules for an Event created or updated through core/v1. An Event without
 * eventTime is an old-style one: only its namespace must agree with the involved object's. With eventTime, the
 * fields events.k8s.io requires are required here too.
 */
export function validateEvent(e: CoreEvent): StatusCause[] {
  const causes: StatusCause[] = [];
  const ns = e.metadata.namespace;
  const objNs = e.involvedObject.namespace ?? '';
  const nsMismatch = cause(
    'involvedObject.namespace',
    JSON.stringify(objNs),
    'does not match event.namespace',
  );
  if (e.eventTime === null) {
    if (objNs === '' ? ns !== '' && ns !== 'default' : ns !== objNs) causes.push(nsMismatch);
  } else {
    if (objNs === '' && ns !== 'default' && ns !== 'kube-system') causes.push(nsMismatch);
    if (!e.reportingComponent) causes.push(required('reportingController'));
    const problem = qualifiedNameProblem(e.reportingComponent);
    if (problem) causes.push(cause('reportingController', JSON.stringify(e.reportingComponent), problem));
    if (!e.reportingInstance) causes.push(required('reportingInstance'));
    causes.push(...tooLong('reportingInstance', e.reportingInstance, 128));
    if (!e.action) causes.push(required('action'));
    causes.push(...tooLong('action', e.action, 128));
    if (!e.reason) causes.push(required('reason'));
    causes.push(...tooLong('reason', e.reason, 128));
    causes.push(...tooLong('message', e.message, 1024));
  }
  if (ns.length > 253 || !DNS1123_SUBDOMAIN.test(ns))
    causes.push(cause('namespace', JSON.stringify(ns), DNS1123_DETAIL));
  return causes;
}

/** The common ObjectMeta rule kube runs after the Event's own: a name, usable as a path segment. */
export function validateEventName(name: string): StatusCause[] {
  if (!name)
    return [
      {
        reason: 'FieldValueRequired',
        message: 'Required value: name or generateName is required',
        field: 'metadata.name',
      },
    ];
  if (name === '.' || name === '..')
    return [cause('metadata.name', JSON.stringify(name), `may not be '${name}'`)];
  for (const bad of ['/', '%'])
    if (name.includes(bad)) return [cause('metadata.name', JSON.stringify(name), `may not contain '${bad}'`)];
  return [];
}
