// Wire shapes of coordination.k8s.io/v1 Lease objects as the fake kube-apiserver stores and serves them.
// Plain JSON (times are MicroTime strings), not client-node's classes.

export const GROUP = 'coordination.k8s.io';
export const API_VERSION = 'coordination.k8s.io/v1';

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
  strategy?: string;
  preferredHolder?: string;
}

export interface LeaseMeta {
  name: string;
  namespace: string;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface Lease {
  kind: 'Lease';
  apiVersion: typeof API_VERSION;
  metadata: LeaseMeta;
  spec: LeaseSpec;
}

/** What tests hand to putLease: kind/apiVersion/spec may be left out. */
export interface LeaseInput {
  kind?: string;
  apiVersion?: string;
  metadata: LeaseMeta;
  spec?: LeaseSpec;
}

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: unknown;
}
