/**
 * The replay's control plane in the DynamoDB state table (hash key `pk` only):
 *
 * - `control#mode`: the mode the operator asked for (`POST /mode`), with a version that grows by
 *   one on every request. One atomic UpdateItem per request, so concurrent requests never share a
 *   version and the replayer can tell a new request from one it already applied.
 * - `status#replayer`: what the replayer is doing (written by it, read by `GET /mode`), kept as a
 *   JSON string so its shape can grow without a table change.
 *
 * Reads are strongly consistent: a `GET /mode` right after a `POST /mode` sees the new version.
 * A failed DynamoDB call surfaces as an {@link AwsCallError} whose `cause` is the SDK error and
 * whose `retryable` is that error's classification.
 */
import { GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { isRetryableError } from '../aws/retryable.ts';
import { AwsCallError, errorName, TickReplayError } from '../errors.ts';

export type Mode = 'historical' | 'live';

export const MODES: readonly Mode[] = ['historical', 'live'];

export function isMode(value: unknown): value is Mode {
  return value === 'historical' || value === 'live';
}

export interface ModeControl {
  mode: Mode;
  /** 0 = never requested; every request adds one. */
  version: number;
  /** Historical only: restart the replay from the first quote instead of the checkpoint. */
  fromStart: boolean;
  /** ISO 8601 time of the request; '' when never requested. */
  requestedAt: string;
  /**
   * How many "from start" requests were ever made. A counter rather than the flag alone, so a
   * rewind requested just before another request is not lost: the replayer rewinds whenever it
   * has honoured fewer than this.
   */
  rewinds: number;
}

export interface ReplayStatus {
  mode: Mode;
  /** The last control version the replayer acted on. */
  appliedVersion: number;
  historical: {
    source?: string;
    file?: string;
    done: number;
    total: number;
    /** Rows of the file rejected as invalid so far (absent in statuses of older versions). */
    rejected?: number;
    completed: boolean;
    position?: Record<string, unknown>;
  };
  live: {
    url?: string;
    connection: string;
    received: number;
    rejected: number;
    reconnects: number;
    /** Venue sequence gaps and the messages they skipped (absent in statuses of older versions). */
    sequenceGaps?: number;
    missedMessages?: number;
  };
  updatedAt: string;
}

/** An item in the table does not have the shape this code writes. */
export class ControlDataError extends TickReplayError {}

export const MODE_CONTROL_KEY = 'control#mode';
export const REPLAYER_STATUS_KEY = 'status#replayer';

export const DEFAULT_MODE_CONTROL: Readonly<ModeControl> = Object.freeze({
  mode: 'historical',
  version: 0,
  fromStart: false,
  requestedAt: '',
  rewinds: 0,
});

type Item = Record<string, AttributeValue>;

export class ControlStore {
  constructor(
    private readonly dynamodb: Pick<DynamoDBClient, 'send'>,
    private readonly tableName: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Records a mode request; the returned control carries its (new, unique) version. */
  async requestMode(mode: Mode, fromStart: boolean): Promise<ModeControl> {
    if (!isMode(mode)) throw new TypeError(`mode must be "historical" or "live", got ${JSON.stringify(mode)}`);
    if (fromStart && mode !== 'historical') throw new TypeError('fromStart is only meaningful with mode "historical"');
    const out = await this.call('UpdateItem', () =>
      this.dynamodb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk: { S: MODE_CONTROL_KEY } },
          UpdateExpression: `ADD #version :one${fromStart ? ', #rewinds :one' : ''} SET #mode = :m, #fromStart = :f, #requestedAt = :t`,
          ExpressionAttributeNames: {
            '#version': 'version',
            ...(fromStart ? { '#rewinds': 'rewinds' } : {}),
            '#mode': 'mode',
            '#fromStart': 'fromStart',
            '#requestedAt': 'requestedAt',
          },
          ExpressionAttributeValues: {
            ':one': { N: '1' },
            ':m': { S: mode },
            ':f': { BOOL: fromStart },
            ':t': { S: this.now().toISOString() },
          },
          ReturnValues: 'ALL_NEW',
        }),
      ),
    );
    if (out.Attributes === undefined) {
      throw new ControlDataError('UpdateItem on the mode control returned no attributes', { tableName: this.tableName });
    }
    return this.toModeControl(out.Attributes);
  }

  /** The current request, or {@link DEFAULT_MODE_CONTROL} when none was ever made. */
  async getMode(): Promise<ModeControl> {
    const item = await this.getItem(MODE_CONTROL_KEY);
    return item === undefined ? { ...DEFAULT_MODE_CONTROL } : this.toModeControl(item);
  }

  async putStatus(status: ReplayStatus): Promise<void> {
    await this.call('PutItem', () =>
      this.dynamodb.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            pk: { S: REPLAYER_STATUS_KEY },
            status: { S: JSON.stringify(status) },
            updatedAt: { S: status.updatedAt },
          },
        }),
      ),
    );
  }

  /** The replayer's last status, or undefined when it never wrote one. */
  async getStatus(): Promise<ReplayStatus | undefined> {
    const item = await this.getItem(REPLAYER_STATUS_KEY);
    if (item === undefined) return undefined;
    const raw = item.status?.S;
    let value: unknown;
    try {
      value = raw === undefined ? undefined : JSON.parse(raw);
    } catch {
      value = undefined;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw this.malformed(REPLAYER_STATUS_KEY, 'status is not a JSON object');
    }
    const status = value as Partial<ReplayStatus>;
    if (!isMode(status.mode) || typeof status.appliedVersion !== 'number') {
      throw this.malformed(REPLAYER_STATUS_KEY, 'status has no valid mode or appliedVersion');
    }
    return status as ReplayStatus;
  }

  private async getItem(pk: string): Promise<Item | undefined> {
    const out = await this.call('GetItem', () =>
      this.dynamodb.send(new GetItemCommand({ TableName: this.tableName, Key: { pk: { S: pk } }, ConsistentRead: true })),
    );
    return out.Item;
  }

  private toModeControl(item: Item): ModeControl {
    const mode = item.mode?.S;
    const version = Number(item.version?.N);
    if (!isMode(mode) || !Number.isSafeInteger(version) || version < 0) {
      throw this.malformed(MODE_CONTROL_KEY, 'no valid mode or version');
    }
    return {
      mode,
      version,
      fromStart: item.fromStart?.BOOL ?? false,
      requestedAt: item.requestedAt?.S ?? '',
      rewinds: Number(item.rewinds?.N ?? 0) || 0,
    };
  }

  private malformed(pk: string, what: string): ControlDataError {
    return new ControlDataError(`item ${pk} in DynamoDB table ${this.tableName} is malformed: ${what}`, {
      tableName: this.tableName,
      pk,
    });
  }

  private async call<T>(operation: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      const name = errorName(error) || 'Error';
      const message = error instanceof Error ? error.message : String(error);
      throw new AwsCallError(
        `DynamoDB ${operation} on table ${this.tableName} failed: ${name}: ${message}`,
        { tableName: this.tableName, operation, errorName: name },
        { cause: error, retryable: isRetryableError(error) },
      );
    }
  }
}
