/**
 * One worker's side of the shard leases (the KCL's LeaseCoordinator): every third of a lease
 * period it renews what it holds, lists all leases, and takes or asks for what the balance rules
 * (lease-balance.ts) say. Each lease it holds is handed to the consumer as a `HeldLease` whose
 * signal aborts when the lease is lost or another worker asked for it; in the second case the
 * lease is transferred once the consumer reports it stopped (its last batch checkpointed). On
 * stop, held leases are released so that other workers take them at once.
 *
 * Resharding: the shards are listed again every `shardSyncMs` and at once when a held shard was
 * read to its end, so children of a split or a merge are found while the workers run; only shards
 * whose parents are finished are taken (shard-lineage.ts), and a finished shard's lease is freed
 * for good.
 */
import { errorName } from '../errors.ts';
import { silentLogger, type Logger } from '../logging/logger.ts';
import type { Resolved } from '../options.ts';
import { systemClock, type Clock } from '../time/clock.ts';
import { observeLeases, planLeases, type LeaseObservation } from './lease-balance.ts';
import { LeaseLostError, type Lease, type LeaseStore } from './lease-table.ts';
import { isFinished, readyShards, type ShardInfo } from './shard-lineage.ts';

export const DEFAULT_LEASE_DURATION_MS = 5_000;
/** How often the shards are listed again to find the children of a reshard (Lambda finds them within seconds). */
export const DEFAULT_SHARD_SYNC_MS = 10_000;

export interface HeldLease {
  readonly shardId: string;
  /** The lease as it was when taken: where processing starts (checkpoint, else floor). */
  readonly taken: Lease;
  /**
   * The owner whose lease had expired when this worker took it over (undefined for a free lease or
   * a handover): that owner may have written a batch it never checkpointed.
   */
  readonly takenOverFrom: string | undefined;
  /** Whether the shard is closed (a reshard), as last listed. */
  isClosed(): boolean;
  /**
   * Whether the lease was confirmed (renewed, checkpointed, taken) within two thirds of a lease
   * period. Past that, the lease table has been out of reach for two renewal rounds, and once a
   * whole period has passed another worker may take the lease over: the consumer holds the shard's
   * next batch back rather than risk processing it at the same time as the next owner (a batch
   * started before has the last third of the period to finish).
   */
  isFresh(): boolean;
  /**
   * The shard was read to its end: checkpoints SHARD_END and gives the lease up for good, so that
   * its children can be taken. Throws LeaseLostError when the lease was lost.
   */
  finish(): Promise<void>;
  /** Aborted when the lease is lost, asked for by another worker, or the coordinator stops: stop processing the shard. */
  readonly signal: AbortSignal;
  /** Conditional checkpoint; throws LeaseLostError (and aborts `signal`) when the lease was lost. */
  checkpoint(sequenceNumber: string): Promise<void>;
  /** The lease as stored now (to wait for a floor to appear). */
  refresh(): Promise<Lease>;
  /** The consumer stopped processing the shard (last checkpoint written): a requested handoff happens now. */
  stopped(): Promise<void>;
}

export interface LeaseCoordinatorOptions {
  table: LeaseStore;
  workerId: string;
  /** The stream's shards now (ListShards); called at start, every `shardSyncMs`, and after a shard ended. */
  listShards: () => Promise<readonly ShardInfo[]>;
  onAcquired: (lease: HeldLease) => void;
  leaseDurationMs?: number;
  shardSyncMs?: number;
  clock?: Clock;
  random?: () => number;
  logger?: Logger;
}

interface Holding {
  lease: HeldLease;
  controller: AbortController;
  /**
   * When (this worker's clock) the last write that moved the lease's counter was sent: another
   * worker can judge the lease expired no sooner than a lease period after it.
   */
  confirmedAt: number;
  /** The worker that asked for this lease, once one did. */
  handoffTo?: string;
}

export class LeaseCoordinator {
  private readonly held = new Map<string, Holding>();
  private observations = new Map<string, LeaseObservation>();
  private readonly stopController = new AbortController();
  /** Aborted to run the next round at once (a shard ended: its children may be ready). */
  private wakeup = new AbortController();
  private loop: Promise<void> | undefined;
  private readonly options: Resolved<LeaseCoordinatorOptions>;
  private shards: readonly ShardInfo[] = [];
  private lastSync = -Infinity;
  private syncWanted = true;
  readonly stats = { taken: 0, handedOver: 0, received: 0, lost: 0, renewals: 0, finished: 0 };

  constructor(options: LeaseCoordinatorOptions) {
    this.options = {
      ...options,
      leaseDurationMs: options.leaseDurationMs ?? DEFAULT_LEASE_DURATION_MS,
      shardSyncMs: options.shardSyncMs ?? DEFAULT_SHARD_SYNC_MS,
      clock: options.clock ?? systemClock,
      random: options.random ?? Math.random,
      logger: options.logger ?? silentLogger,
    };
  }

  get workerId(): string {
    return this.options.workerId;
  }

  heldShards(): string[] {
    return [...this.held.keys()];
  }

  /** The shards as last listed. */
  knownShards(): readonly ShardInfo[] {
    return this.shards;
  }

  /** Runs the first round (so leases free at start are held when this resolves), then keeps going. */
  async start(): Promise<void> {
    await this.round();
    this.loop = this.run();
  }

  /** Stops renewing and releases every lease still held (call after processing stopped). */
  async stop(): Promise<void> {
    this.stopController.abort();
    await this.loop;
    const holdings = [...this.held.values()];
    this.held.clear();
    for (const h of holdings) h.controller.abort();
    await Promise.all(
      holdings.map((h) =>
        this.options.table.release(h.lease.shardId, this.options.workerId).catch((error: unknown) => {
          this.options.logger.warn('could not release a lease; it will expire instead', { shard: h.lease.shardId, error });
        }),
      ),
    );
    if (holdings.length > 0) this.options.logger.info('leases released', { shards: holdings.map((h) => h.lease.shardId) });
  }

  private async run(): Promise<void> {
    const interval = this.options.leaseDurationMs / 3;
    while (!this.stopController.signal.aborted) {
      await this.options.clock.sleep(interval, AbortSignal.any([this.stopController.signal, this.wakeup.signal]));
      this.wakeup = new AbortController();
      if (this.stopController.signal.aborted) return;
      try {
        await this.round();
      } catch (error) {
        // A failed round is retried next time; held leases stay valid until they expire.
        this.options.logger.warn('lease round failed; retrying', { error });
      }
    }
  }

  private lose(shardId: string, reason: string): void {
    const holding = this.held.get(shardId);
    if (holding === undefined) return;
    this.held.delete(shardId);
    this.stats.lost++;
    holding.controller.abort(new LeaseLostError(shardId, this.options.workerId));
    this.options.logger.warn('lease lost; stopping the shard', { shard: shardId, reason });
  }

  private async round(): Promise<void> {
    const { table, workerId } = this.options;
    await Promise.all(
      [...this.held.keys()].map(async (shardId) => {
        try {
          const sentAt = this.options.clock.now();
          this.noticeHandoff(await table.renew(shardId, workerId));
          this.confirm(shardId, sentAt);
          this.stats.renewals++;
        } catch (error) {
          if (error instanceof LeaseLostError) this.lose(shardId, 'taken over by another worker');
          else this.options.logger.warn('lease renewal failed; retrying next round', { shard: shardId, error: errorName(error) });
        }
      }),
    );
    if (this.stopController.signal.aborted) return;
    await this.syncShards();
    const listedAt = this.options.clock.now();
    const leases = await table.list(this.shards.map((s) => s.shardId));
    const now = this.options.clock.now();
    this.observations = observeLeases(this.observations, leases, now);
    // The table is the truth: a lease listed under another owner is not ours any more (one this
    // worker is finishing shows no owner already: not a loss).
    for (const lease of leases) {
      if (this.held.has(lease.shardId) && lease.owner !== workerId && !isFinished(lease)) this.lose(lease.shardId, `now owned by ${lease.owner ?? 'nobody'}`);
    }
    // Handed over to this worker by its previous owner.
    for (const lease of leases) {
      if (lease.owner === workerId && !this.held.has(lease.shardId) && !this.stopController.signal.aborted) {
        this.stats.received++;
        this.options.logger.info('lease received', { shard: lease.shardId, checkpoint: lease.checkpoint });
        this.hold(lease, undefined, listedAt);
      }
    }
    // Finished shards and children of unfinished parents are nobody's to take.
    const ready = readyShards(this.shards, leases);
    const plan = planLeases(
      leases.filter((l) => ready.has(l.shardId)),
      this.observations,
      workerId,
      now,
      this.options.leaseDurationMs,
      this.options.random,
    );
    for (const lease of plan.take) await this.take(lease);
    if (plan.steal !== undefined && !this.stopController.signal.aborted && (await table.requestHandoff(plan.steal, workerId))) {
      this.options.logger.info('lease requested from a busier worker', { shard: plan.steal.shardId, owner: plan.steal.owner, target: plan.target });
    }
  }

  /** Lists the shards when due (or asked for); a failure keeps those known, but the first listing must succeed. */
  private async syncShards(): Promise<void> {
    const now = this.options.clock.now();
    if (!this.syncWanted && now - this.lastSync < this.options.shardSyncMs) return;
    let listed: readonly ShardInfo[];
    try {
      listed = await this.options.listShards();
    } catch (error) {
      if (this.shards.length === 0) throw error;
      this.options.logger.warn('listing the shards failed; keeping the ones known', { error });
      return;
    }
    this.syncWanted = false;
    this.lastSync = now;
    const known = new Set(this.shards.map((s) => s.shardId));
    const added = listed.filter((s) => !known.has(s.shardId));
    if (known.size > 0 && added.length > 0) {
      this.options.logger.info('new shards found (the stream was resharded)', { shards: added.map((s) => ({ shard: s.shardId, parents: s.parents })) });
    }
    this.shards = listed;
  }

  /** Another worker asked for a lease held here: stop its shard; `stopped()` then transfers it. */
  private noticeHandoff(lease: Lease): void {
    const holding = this.held.get(lease.shardId);
    if (holding === undefined || lease.pendingOwner === undefined || lease.pendingOwner === this.options.workerId) return;
    if (holding.handoffTo !== undefined) return;
    holding.handoffTo = lease.pendingOwner;
    this.options.logger.info('handing a lease over after the batch in hand', { shard: lease.shardId, to: lease.pendingOwner });
    holding.controller.abort();
  }

  private async take(lease: Lease): Promise<void> {
    if (this.stopController.signal.aborted) return;
    const sentAt = this.options.clock.now();
    const taken = await this.options.table.take(lease, this.options.workerId);
    if (taken === undefined) return;
    this.stats.taken++;
    this.options.logger.info('lease taken', { shard: lease.shardId, from: lease.owner, checkpoint: taken.checkpoint });
    this.hold(taken, lease.owner, sentAt);
  }

  /** A write of the lease that was sent at `sentAt` succeeded. */
  private confirm(shardId: string, sentAt: number): void {
    const holding = this.held.get(shardId);
    if (holding !== undefined && sentAt > holding.confirmedAt) holding.confirmedAt = sentAt;
  }

  private hold(taken: Lease, takenOverFrom: string | undefined, confirmedAt: number): void {
    const { table, workerId } = this.options;
    const lease = taken;
    const controller = new AbortController();
    const held: HeldLease = {
      shardId: lease.shardId,
      taken,
      takenOverFrom,
      isClosed: () => this.shards.find((s) => s.shardId === lease.shardId)?.closed ?? false,
      isFresh: () => {
        const holding = this.held.get(lease.shardId);
        return holding?.lease === held && this.options.clock.now() - holding.confirmedAt < (this.options.leaseDurationMs * 2) / 3;
      },
      finish: async () => {
        try {
          await table.finish(lease.shardId, workerId);
        } catch (error) {
          if (error instanceof LeaseLostError) this.lose(lease.shardId, 'finishing refused: no longer the owner');
          throw error;
        }
        if (this.held.get(lease.shardId)?.lease === held) this.held.delete(lease.shardId);
        this.stats.finished++;
        this.options.logger.info('shard finished; its lease is given up and its children can be taken', { shard: lease.shardId });
        // Its children may be ready now: list the shards and run a round at once.
        this.syncWanted = true;
        this.wakeup.abort();
      },
      signal: AbortSignal.any([controller.signal, this.stopController.signal]),
      checkpoint: async (sequenceNumber) => {
        try {
          const sentAt = this.options.clock.now();
          this.noticeHandoff(await table.checkpoint(lease.shardId, workerId, sequenceNumber));
          this.confirm(lease.shardId, sentAt);
        } catch (error) {
          if (error instanceof LeaseLostError) this.lose(lease.shardId, 'checkpoint refused: no longer the owner');
          throw error;
        }
      },
      refresh: async () => (await table.list([lease.shardId]))[0] ?? taken,
      stopped: async () => {
        const holding = this.held.get(lease.shardId);
        if (holding?.lease !== held || holding.handoffTo === undefined) return;
        try {
          await table.transfer(lease.shardId, workerId, holding.handoffTo);
          this.stats.handedOver++;
          this.options.logger.info('lease handed over', { shard: lease.shardId, to: holding.handoffTo });
        } catch (error) {
          // Lost meanwhile, or DynamoDB failed: either way the lease expires and is taken over.
          this.options.logger.warn('lease handover failed; it will expire and be taken over', { shard: lease.shardId, error });
        } finally {
          // Only now: while the transfer is in flight the lease is still ours in the table, and a
          // round must not mistake it for one handed to us and process it again.
          if (this.held.get(lease.shardId) === holding) this.held.delete(lease.shardId);
        }
      },
    };
    this.held.set(lease.shardId, { lease: held, controller, confirmedAt });
    this.options.onAcquired(held);
  }
}
