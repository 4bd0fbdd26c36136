// kubeadm >= 1.29 writes two kubeconfigs on the first control-plane node: admin.conf, whose group gets its
// rights only once `kubeadm init` has finished, and super-admin.conf, which works from the start. kvip must
// hold the VIP during init (kubeadm waits for the API server on it), so one generated manifest could not
// work on every node. This store uses the primary (admin.conf) and, while the primary is refused with 403,
// the fallback (super-admin.conf beside it); it asks the primary again every `recheckMs` and switches back
// as soon as it is allowed. Both switches are logged. A 401 or an untrusted certificate does not switch:
// those are not the bootstrap case.
import { LeaseForbiddenError } from './errors.js';
import type { Logger } from '../log.js';
import type { LeaseRecord, LeaseStore, LeaseWatch, StoredLease, WatchHandlers } from './types.js';

export interface FallbackStoreOptions {
  primary: LeaseStore;
  /**
   * The fallback, opened at the first 403 (the file may appear after kvip started); undefined when there is
   * none to use, and the 403 stands.
   */
  openFallback: () => LeaseStore | undefined;
  /** For the log: "/etc/kubernetes/admin.conf" and "/etc/kubernetes/super-admin.conf". */
  primaryName: string;
  fallbackName: string;
  log: Logger;
  /** How often the primary is asked again while the fallback is in use. */
  recheckMs?: number;
}

const DEFAULT_RECHECK_MS = 10_000;

function refused(err: unknown): boolean {
  return err instanceof LeaseForbiddenError && err.status === 403;
}

export class FallbackLeaseStore implements LeaseStore {
  readonly description: string;
  private usingFallback = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly recheckMs: number;
  private fallback: LeaseStore | undefined;

  constructor(private readonly o: FallbackStoreOptions) {
    this.description = o.primary.description;
    this.recheckMs = o.recheckMs ?? DEFAULT_RECHECK_MS;
  }

  /** Which kubeconfig is in use now (for logs and tests). */
  get active(): string {
    return this.usingFallback ? this.o.fallbackName : this.o.primaryName;
  }

  get(signal: AbortSignal): Promise<StoredLease | null> {
    return this.call((s) => s.get(signal));
  }

  create(record: LeaseRecord, signal: AbortSignal): Promise<StoredLease> {
    return this.call((s) => s.create(record, signal));
  }

  update(record: LeaseRecord, version: string, signal: AbortSignal): Promise<StoredLease> {
    return this.call((s) => s.update(record, version, signal));
  }

  watch(fromVersion: string | null, handlers: WatchHandlers): LeaseWatch {
    const store = (this.usingFallback && this.fallback) || this.o.primary;
    if (!store.watch) throw new Error('the lease store cannot watch');
    return store.watch(fromVersion, {
      ...handlers,
      onClose: (reason) => {
        // A refused watch switches too; the elector re-opens it, on the fallback.
        if (!this.usingFallback && refused(reason.error)) this.switchToFallback(reason.error);
        handlers.onClose(reason);
      },
    });
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async call<T>(fn: (store: LeaseStore) => Promise<T>): Promise<T> {
    if (this.usingFallback && this.fallback) return fn(this.fallback);
    try {
      return await fn(this.o.primary);
    } catch (err) {
      if (!refused(err) || !this.switchToFallback(err) || !this.fallback) throw err;
      return fn(this.fallback);
    }
  }

  /** Switches if there is a fallback to use; says whether it did. */
  private switchToFallback(err: unknown): boolean {
    if (this.usingFallback) return true;
    this.fallback ??= this.o.openFallback();
    if (!this.fallback) return false;
    this.usingFallback = true;
    this.o.log.warn(
      { kubeconfig: this.o.fallbackName, err: err instanceof Error ? err.message : String(err) },
      `${this.o.primaryName} is refused (403, as on the first node while kubeadm init runs): using ` +
        `${this.o.fallbackName} until ${this.o.primaryName} is allowed`,
    );
    this.timer = setInterval(() => void this.recheck(), this.recheckMs);
    this.timer.unref();
    return true;
  }

  /** Ask the primary again now (the timer does this every recheckMs while the fallback is in use). */
  async recheck(): Promise<void> {
    try {
      await this.o.primary.get(AbortSignal.timeout(this.recheckMs));
    } catch {
      // Still refused, or another failure (API server down) that says nothing about the rights.
      return;
    }
    if (!this.usingFallback) return;
    this.usingFallback = false;
    this.close();
    this.o.log.info(
      { kubeconfig: this.o.primaryName },
      `${this.o.primaryName} is allowed now: switched back from ${this.o.fallbackName}`,
    );
  }
}
