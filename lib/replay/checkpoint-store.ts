/**
 * Historical checkpoints in DynamoDB: per source (file fingerprint), the acknowledged position and
 * the scan results, owned through a lease. Every write is conditional on still holding the lease,
 * so two replayers of the same source can never both advance it: the second one is refused with
 * the name of the owner, and a replayer that lost its lease stops instead of overwriting.
 */
import {
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
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
  leaseUntil: number;
}

export class DynamoCheckpointStore {
  /** Paths whose file index item is up to date (written once per session, not on every save). */
  private readonly indexed = new Set<string>();

  constructor(
    private readonly dynamodb: Pick<DynamoDBClient, 'send'>,
    private readonly tableName: string,
    /** This replayer's identity (host, pid, random suffix). */
    readonly owner: string,
    readonly leaseMs = 10_000,
    private readonly now: () => number = Date.now,
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
    return owner === undefined ? undefined : { owner, leaseUntil: Number(out.Item?.leaseUntil?.N ?? 0) };
  }

  /** Takes (or renews) the lease on a source; throws CheckpointOwnershipError if someone else holds it. */
  async acquire(sourceId: string): Promise<StoredCheckpoint | undefined> {
    const now = this.now();
    try {
      const out = await this.dynamodb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.sourceKey(sourceId),
          UpdateExpression: 'SET #owner = :me, leaseUntil = :until',
          ConditionExpression: 'attribute_not_exists(#owner) OR #owner = :me OR leaseUntil < :now',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':me': { S: this.owner }, ':until': { N: String(now + this.leaseMs) }, ':now': { N: String(now) } },
          ReturnValues: 'ALL_NEW',
        }),
      );
      const body = out.Attributes?.checkpoint?.S;
      return body === undefined ? undefined : (JSON.parse(body) as StoredCheckpoint);
    } catch (error) {
      if (!isConditionalCheckFailure(error)) throw error;
      const holder = await this.holder(sourceId);
      throw new CheckpointOwnershipError(
        `${sourceId} is being replayed by ${holder?.owner ?? 'another replayer'} (lease until ${new Date(holder?.leaseUntil ?? 0).toISOString()}); ` +
          'stop it, or wait for its lease to expire',
        { sourceId, ...holder },
      );
    }
  }

  /** Saves the position and renews the lease, only while this replayer still owns the source. */
  async save(checkpoint: StoredCheckpoint): Promise<void> {
    const now = this.now();
    try {
      await this.dynamodb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.sourceKey(checkpoint.sourceId),
          UpdateExpression: 'SET checkpoint = :cp, leaseUntil = :until, updatedAt = :at',
          ConditionExpression: '#owner = :me',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: {
            ':cp': { S: JSON.stringify(checkpoint) },
            ':until': { N: String(now + this.leaseMs) },
            ':at': { S: new Date(now).toISOString() },
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

  /** Gives the lease up (graceful stop), keeping the checkpoint. */
  async release(sourceId: string): Promise<void> {
    try {
      await this.dynamodb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.sourceKey(sourceId),
          UpdateExpression: 'SET leaseUntil = :zero',
          ConditionExpression: '#owner = :me',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':zero': { N: '0' }, ':me': { S: this.owner } },
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailure(error)) throw error;
    }
  }
}
