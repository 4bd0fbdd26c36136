// What can go wrong talking to the lease store, as types the elector can act on.

export class LeaseError extends Error {
  override name = 'LeaseError';
}

/** 409: someone else wrote first (Conflict on update, AlreadyExists on create). Lost the race: retry next tick. */
export class LeaseConflictError extends LeaseError {
  override name = 'LeaseConflictError';
}

/** Network failure, timeout, abort, 429 or 5xx: transient, never fatal. */
export class LeaseUnavailableError extends LeaseError {
  override name = 'LeaseUnavailableError';
}

/**
 * 401/403, or a server certificate the kubeconfig does not trust (status 0): the credentials, RBAC or trust
 * are wrong; retrying will not help until a person fixes it.
 */
export class LeaseForbiddenError extends LeaseError {
  override name = 'LeaseForbiddenError';
  constructor(
    message: string,
    readonly verb: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** 400/422: the request itself is wrong (a bug, or an API server that disagrees with us). */
export class LeaseInvalidError extends LeaseError {
  override name = 'LeaseInvalidError';
}
