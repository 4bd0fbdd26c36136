export {
  MetalClient,
  type MetalClientOptions,
  type CallOptions,
  type Query,
  type UnassignResult,
  type CreateBgpSessionResult,
} from './client.js';
export { MetalApiError, MetalCallAbortedError, type MetalApiErrorInit } from './errors.js';
export { fetchMetadata, type FetchMetadataOptions } from './metadata.js';
export { lastSegment } from './types.js';
export type * from './types.js';
