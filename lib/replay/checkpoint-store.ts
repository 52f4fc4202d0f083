/**
 * Historical checkpoints in DynamoDB: per source (file fingerprint), the acknowledged position and
 * the scan results, owned through a lease. Every write is conditional on still holding the lease,
 * so two replayers of the same source can never both advance it: the second one is refused with
 * the name of the owner, and a replayer that lost its lease stops instead of overwriting.
 *
 * The lease is fenced by a counter, as the consumer's shard leases are (lib/consumer/
 * lease-table.ts), never by comparing clocks across hosts: every save (every ~50 ms while sending,
 * at least every lease/4) bumps `leaseCounter`; another replayer judges the lease abandoned only
 * once it has seen the same owner and counter for a whole lease period on its own monotonic clock,
 * and takes it conditionally on that very counter. A clock step on either host changes nothing.
 */
import {
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { isConditionalCheckFailure } from '../aws/retryable.ts';
import { TickReplayError } from '../errors.ts';
import type { HistoricalPosition } from './ack-tracker.ts';

export interface StoredCheckpoint {
  sourceId: string;
  fingerprint: string;
  file: string;
  size: number;
  mtimeMs: number;
  records: number;
  validRows: number;
  disorderUs: number;
  /** How many "from start" requests (ModeControl.rewinds) this checkpoint has honoured. */
  rewindsHonoured?: number;
  position: HistoricalPosition;
}

/** Another replayer holds the source, or this one lost it. */
export class CheckpointOwnershipError extends TickReplayError {}

export interface LeaseHolder {
  owner: string;
  /** Bumped by every save and take: while it moves, the owner is alive. */
  counter: number;
}

/** An owner and counter as first seen by this replayer, on its own clock. */
interface Observation extends LeaseHolder {
  since: number;
}

export class DynamoCheckpointStore {
  /** Paths whose file index item is up to date (written once per session, not on every save). */
  private readonly indexed = new Set<string>();
  /** Per source held by another replayer: its owner and counter, and since when (this clock) unchanged. */
  private readonly observed = new Map<string, Observation>();

  constructor(
    private readonly dynamodb: Pick<DynamoDBClient, 'send'>,
    private readonly tableName: string,
    /** This replayer's identity (host, pid, random suffix). */
    readonly owner: string,
    /** A lease whose counter has not moved for this long (on this replayer's clock) is taken over. */
    readonly leaseMs = 10_000,
    /** A monotonic clock (ms), only ever compared with itself. */
    private readonly now: () => number = () => performance.now(),
  ) {}

  private sourceKey(sourceId: string): { pk: { S: string } } {
    return { pk: { S: `checkpoint#${sourceId}` } };
  }

  private fileKey(file: string): { pk: { S: string } } {
    return { pk: { S: `file#${file}` } };
  }

  /**
   * The checkpoint last saved for this path, if the file still has the size and modification
   * time it had then: lets a restart skip re-scanning (and re-hashing) a large file.
   */
  async findByFile(file: string, size: number, mtimeMs: number): Promise<StoredCheckpoint | undefined> {
    const index = await this.dynamodb.send(new GetItemCommand({ TableName: this.tableName, Key: this.fileKey(file), ConsistentRead: true }));
    const sourceId = index.Item?.sourceId?.S;
    if (sourceId === undefined || Number(index.Item?.size?.N) !== size || Number(index.Item?.mtimeMs?.N) !== mtimeMs) return undefined;
    return this.load(sourceId);
  }

  async load(sourceId: string): Promise<StoredCheckpoint | undefined> {
    const out = await this.dynamodb.send(new GetItemCommand({ TableName: this.tableName, Key: this.sourceKey(sourceId), ConsistentRead: true }));
    const body = out.Item?.checkpoint?.S;
    return body === undefined ? undefined : (JSON.parse(body) as StoredCheckpoint);
  }

  async holder(sourceId: string): Promise<LeaseHolder | undefined> {
    const out = await this.dynamodb.send(new GetItemCommand({ TableName: this.tableName, Key: this.sourceKey(sourceId), ConsistentRead: true }));
    const owner = out.Item?.owner?.S;
    return owner === undefined ? undefined : { owner, counter: Number(out.Item?.leaseCounter?.N ?? 0) };
  }

  /**
   * Takes (or renews) the lease on a source. Throws CheckpointOwnershipError while another replayer
   * holds it: one whose counter this replayer has not yet seen standing still for a lease period.
   * Called again (the session retries), it takes the lease once that period has passed.
   */
  async acquire(sourceId: string): Promise<StoredCheckpoint | undefined> {
    const holder = await this.holder(sourceId);
    let condition = 'attribute_not_exists(#owner) OR #owner = :me';
    const values: Record<string, AttributeValue> = {};
    if (holder !== undefined && holder.owner !== this.owner) {
      const seen = this.observed.get(sourceId);
      if (seen === undefined || seen.owner !== holder.owner || seen.counter !== holder.counter) {
        this.observed.set(sourceId, { ...holder, since: this.now() });
        throw this.heldBy(sourceId, holder, 0);
      }
      const stillMs = this.now() - seen.since;
      if (stillMs < this.leaseMs) throw this.heldBy(sourceId, holder, stillMs);
      // Abandoned: take it, provided nobody moved it since (the counter is the fencing token).
      condition = `#owner = :seenOwner AND ${holder.counter === 0 ? 'attribute_not_exists(leaseCounter)' : 'leaseCounter = :seen'}`;
      values[':seenOwner'] = { S: holder.owner };
      if (holder.counter !== 0) values[':seen'] = { N: String(holder.counter) };
    }
    try {
      const out = await this.dynamodb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.sourceKey(sourceId),
          // leaseUntil: the wall-clock lease of earlier versions, meaningless now.
          UpdateExpression: 'SET #owner = :me, leaseCounter = if_not_exists(leaseCounter, :zero) + :one REMOVE leaseUntil',
          ConditionExpression: condition,
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':me': { S: this.owner }, ':zero': { N: '0' }, ':one': { N: '1' }, ...values },
          ReturnValues: 'ALL_NEW',
        }),
      );
      this.observed.delete(sourceId);
      const body = out.Attributes?.checkpoint?.S;
      return body === undefined ? undefined : (JSON.parse(body) as StoredCheckpoint);
    } catch (error) {
      if (!isConditionalCheckFailure(error)) throw error;
      // Taken or renewed by someone else in between: observe it afresh next time.
      const now = await this.holder(sourceId);
      if (now !== undefined) this.observed.set(sourceId, { ...now, since: this.now() });
      throw this.heldBy(sourceId, now, 0);
    }
  }

  private heldBy(sourceId: string, holder: LeaseHolder | undefined, stillMs: number): CheckpointOwnershipError {
    return new CheckpointOwnershipError(
      `${sourceId} is being replayed by ${holder?.owner ?? 'another replayer'} (lease counter ${holder?.counter ?? '?'}, ` +
        `unchanged for ${Math.round(stillMs)} of ${this.leaseMs} ms); stop it, or wait for its lease to expire`,
      { sourceId, ...holder, unchangedForMs: Math.round(stillMs) },
    );
  }

  /** Saves the position and renews the lease (bumps its counter), only while this replayer still owns the source. */
  async save(checkpoint: StoredCheckpoint): Promise<void> {
    try {
      await this.dynamodb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.sourceKey(checkpoint.sourceId),
          UpdateExpression: 'SET checkpoint = :cp, leaseCounter = if_not_exists(leaseCounter, :zero) + :one, updatedAt = :at',
          ConditionExpression: '#owner = :me',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: {
            ':cp': { S: JSON.stringify(checkpoint) },
            ':zero': { N: '0' },
            ':one': { N: '1' },
            // For people reading the table; no decision is taken on it.
            ':at': { S: new Date().toISOString() },
            ':me': { S: this.owner },
          },
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailure(error)) throw error;
      const holder = await this.holder(checkpoint.sourceId);
      throw new CheckpointOwnershipError(
        `lost the lease on ${checkpoint.sourceId} to ${holder?.owner ?? 'another replayer'}; stopping without writing`,
        { sourceId: checkpoint.sourceId, ...holder },
      );
    }
    const index = `${checkpoint.file}\n${checkpoint.size}\n${checkpoint.mtimeMs}\n${checkpoint.sourceId}`;
    if (this.indexed.has(index)) return;
    await this.dynamodb.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: {
          ...this.fileKey(checkpoint.file),
          sourceId: { S: checkpoint.sourceId },
          size: { N: String(checkpoint.size) },
          mtimeMs: { N: String(checkpoint.mtimeMs) },
        },
      }),
    );
    this.indexed.add(index);
  }

  /** Gives the lease up (graceful stop), keeping the checkpoint: another replayer takes it at once. */
  async release(sourceId: string): Promise<void> {
    try {
      await this.dynamodb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.sourceKey(sourceId),
          UpdateExpression: 'REMOVE #owner SET leaseCounter = if_not_exists(leaseCounter, :zero) + :one',
          ConditionExpression: '#owner = :me',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':zero': { N: '0' }, ':one': { N: '1' }, ':me': { S: this.owner } },
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailure(error)) throw error;
    }
  }
}
