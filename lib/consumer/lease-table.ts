/**
 * Shard leases in the DynamoDB state table, as the Kinesis Client Library keeps them: one item per
 * (consumer application, stream, shard) holding the owner, a lease counter and the checkpoint.
 *
 * Every write is conditional. The owner renews by bumping the counter; others judge a lease
 * expired when its counter has not moved for a lease period on *their* clock (no clock sync
 * needed). Taking a lease is conditional on the counter still being the one observed, and a
 * checkpoint is conditional on still being the owner: a worker that lost its lease (expired and
 * taken over, or stolen for balance) can never checkpoint over the new owner.
 */
import {
  BatchGetItemCommand,
  DeleteItemCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { isConditionalCheckFailure } from '../aws/retryable.ts';
import { TickReplayError } from '../errors.ts';

export interface Lease {
  shardId: string;
  /** Worker id of the holder; undefined when free (never taken, or released on shutdown). */
  owner: string | undefined;
  /** Bumped by every renewal, take and checkpoint: a counter that stops moving means a dead owner. */
  counter: number;
  /** Sequence number of the last record processed; undefined before the first checkpoint. */
  checkpoint: string | undefined;
  /**
   * First sequence number of interest when there is no checkpoint yet (set by a one-shot `run`
   * once Kinesis acknowledged its first record on the shard): a worker taking the lease over
   * before any checkpoint starts there instead of LATEST, so a handover cannot skip records.
   */
  floor: string | undefined;
  /** A worker below its fair share asked for this lease: the owner hands it over after its batch. */
  pendingOwner: string | undefined;
}

/** This worker no longer owns the lease (taken over or stolen): stop processing the shard. */
export class LeaseLostError extends TickReplayError {
  constructor(
    readonly shardId: string,
    readonly owner: string,
  ) {
    super(`lease on ${shardId} is no longer held by ${owner}`, { shardId, owner });
  }
}

type Item = Record<string, AttributeValue>;

/**
 * The checkpoint of a shard read to its end after a reshard (the KCL's SHARD_END): its children
 * may be processed, and nobody takes its lease again.
 */
export const SHARD_END = 'SHARD_END';

const BATCH_GET_LIMIT = 100;

/** What a worker's coordinator needs of the lease table (an interface, so tests can script it). */
export type LeaseStore = Pick<LeaseTable, 'list' | 'take' | 'renew' | 'checkpoint' | 'finish' | 'release' | 'requestHandoff' | 'transfer'>;

export class LeaseTable {
  constructor(
    private readonly dynamodb: Pick<DynamoDBClient, 'send'>,
    private readonly tableName: string,
    /** Consumer application: each has its own leases and checkpoints (and reads the whole stream). */
    readonly app: string,
    private readonly streamName: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  private key(shardId: string): { pk: { S: string } } {
    return { pk: { S: `lease#${this.app}#${this.streamName}#${shardId}` } };
  }

  private static toLease(shardId: string, item: Item | undefined): Lease {
    return {
      shardId,
      owner: item?.owner?.S,
      counter: Number(item?.leaseCounter?.N ?? '0'),
      checkpoint: item?.checkpoint?.S,
      floor: item?.floor?.S,
      pendingOwner: item?.pendingOwner?.S,
    };
  }

  /** Current leases of `shardIds` (strongly consistent); a shard without an item is a free lease at counter 0. */
  async list(shardIds: readonly string[]): Promise<Lease[]> {
    const items = new Map<string, Item>();
    for (let i = 0; i < shardIds.length; i += BATCH_GET_LIMIT) {
      let keys: Array<Record<string, AttributeValue>> = shardIds.slice(i, i + BATCH_GET_LIMIT).map((id) => this.key(id));
      // UnprocessedKeys is DynamoDB shedding load: ask again for what is left.
      while (keys.length > 0) {
        const out = await this.dynamodb.send(
          new BatchGetItemCommand({ RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true } } }),
        );
        for (const item of out.Responses?.[this.tableName] ?? []) items.set(item.pk?.S ?? '', item);
        keys = out.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
      }
    }
    return shardIds.map((id) => LeaseTable.toLease(id, items.get(this.key(id).pk.S)));
  }

  /**
   * Takes `lease` for `owner` if nobody touched it since it was observed (same counter). Returns
   * the lease as now held, or undefined when another worker got there first.
   */
  async take(lease: Lease, owner: string): Promise<Lease | undefined> {
    try {
      const out = await this.dynamodb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key(lease.shardId),
          UpdateExpression: 'SET #owner = :owner, leaseCounter = :next, updatedAt = :at ADD ownerSwitches :one REMOVE pendingOwner',
          // Counter 0 is a lease nobody ever wrote: it may not exist yet.
          ConditionExpression: lease.counter === 0 ? 'attribute_not_exists(leaseCounter) OR leaseCounter = :seen' : 'leaseCounter = :seen',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: {
            ':owner': { S: owner },
            ':seen': { N: String(lease.counter) },
            ':next': { N: String(lease.counter + 1) },
            ':at': { S: this.now().toISOString() },
            ':one': { N: '1' },
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return LeaseTable.toLease(lease.shardId, out.Attributes);
    } catch (error) {
      if (isConditionalCheckFailure(error)) return undefined;
      throw error;
    }
  }

  /**
   * Heartbeat: bumps the counter. Returns the lease (its `pendingOwner` says whether another worker
   * asked for it). Throws LeaseLostError when `owner` no longer holds the lease.
   */
  async renew(shardId: string, owner: string): Promise<Lease> {
    return this.ownerUpdate(shardId, owner, 'SET leaseCounter = leaseCounter + :one, updatedAt = :at', {});
  }

  /** Records progress (and counts as a renewal). Throws LeaseLostError when `owner` lost the lease. */
  async checkpoint(shardId: string, owner: string, sequenceNumber: string): Promise<Lease> {
    return this.ownerUpdate(shardId, owner, 'SET #checkpoint = :seq, leaseCounter = leaseCounter + :one, updatedAt = :at', {
      ':seq': { S: sequenceNumber },
    });
  }

  /**
   * The owner read a closed shard to its end: checkpoints SHARD_END and frees the lease for good
   * (no owner, and nobody takes a finished lease). Throws LeaseLostError when `owner` lost it.
   */
  async finish(shardId: string, owner: string): Promise<void> {
    await this.ownerUpdate(shardId, owner, 'SET #checkpoint = :seq, leaseCounter = leaseCounter + :one, updatedAt = :at REMOVE #owner, pendingOwner', {
      ':seq': { S: SHARD_END },
    });
  }

  /**
   * Asks for a lease held by a live worker (balancing): conditional on the owner observed and on
   * no other request pending. The owner hands it over (`transfer`) once its batch in hand is
   * checkpointed — no batch is processed twice, unlike a plain steal.
   */
  async requestHandoff(lease: Lease, requester: string): Promise<boolean> {
    try {
      await this.dynamodb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key(lease.shardId),
          UpdateExpression: 'SET pendingOwner = :me',
          ConditionExpression: '#owner = :seen AND attribute_not_exists(pendingOwner)',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':me': { S: requester }, ':seen': { S: lease.owner ?? '' } },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailure(error)) return false;
      throw error;
    }
  }

  /** The owner gives the lease to the worker that asked for it. */
  async transfer(shardId: string, owner: string, to: string): Promise<void> {
    await this.ownerUpdate(shardId, owner, 'SET #owner = :to, leaseCounter = leaseCounter + :one, updatedAt = :at REMOVE pendingOwner', {
      ':to': { S: to },
    });
  }

  /** Graceful shutdown: frees the lease so another worker takes it at once instead of waiting it out. */
  async release(shardId: string, owner: string): Promise<void> {
    try {
      await this.ownerUpdate(shardId, owner, 'REMOVE #owner, pendingOwner SET leaseCounter = leaseCounter + :one, updatedAt = :at', {});
    } catch (error) {
      // Already somebody else's: nothing of ours to release.
      if (!(error instanceof LeaseLostError)) throw error;
    }
  }

  /**
   * Sets where a lease without a checkpoint starts (see `Lease.floor`). Only the first floor
   * counts, and never once a checkpoint exists. Creates the item when needed.
   */
  async setFloor(shardId: string, sequenceNumber: string): Promise<void> {
    try {
      await this.dynamodb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key(shardId),
          UpdateExpression: 'SET #floor = :seq',
          ConditionExpression: 'attribute_not_exists(#floor) AND attribute_not_exists(#checkpoint)',
          ExpressionAttributeNames: { '#floor': 'floor', '#checkpoint': 'checkpoint' },
          ExpressionAttributeValues: { ':seq': { S: sequenceNumber } },
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailure(error)) throw error;
    }
  }

  async delete(shardId: string): Promise<void> {
    await this.dynamodb.send(new DeleteItemCommand({ TableName: this.tableName, Key: this.key(shardId) }));
  }

  private async ownerUpdate(shardId: string, owner: string, update: string, values: Item): Promise<Lease> {
    try {
      const out = await this.dynamodb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key(shardId),
          UpdateExpression: update,
          ConditionExpression: '#owner = :owner',
          // Reserved words in DynamoDB expressions: always through names.
          ExpressionAttributeNames: { '#owner': 'owner', ...(update.includes('#checkpoint') ? { '#checkpoint': 'checkpoint' } : {}) },
          ExpressionAttributeValues: { ':owner': { S: owner }, ':one': { N: '1' }, ':at': { S: this.now().toISOString() }, ...values },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return LeaseTable.toLease(shardId, out.Attributes);
    } catch (error) {
      if (isConditionalCheckFailure(error)) throw new LeaseLostError(shardId, owner);
      throw error;
    }
  }
}
