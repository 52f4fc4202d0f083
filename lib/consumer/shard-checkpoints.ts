/**
 * Per-shard consumer checkpoints in the DynamoDB state table: the sequence number of the last
 * record the handler processed successfully, per consumer application and shard. Reads are
 * strongly consistent so a restarted consumer never resumes from a stale position.
 */
import { DeleteItemCommand, GetItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';

export interface ShardCheckpointStore {
  get(shardId: string): Promise<string | undefined>;
  put(shardId: string, sequenceNumber: string): Promise<void>;
  delete(shardId: string): Promise<void>;
}

export class DynamoShardCheckpoints implements ShardCheckpointStore {
  constructor(
    private readonly dynamodb: Pick<DynamoDBClient, 'send'>,
    private readonly tableName: string,
    private readonly app: string,
    private readonly streamName: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  private key(shardId: string): { pk: { S: string } } {
    return { pk: { S: `checkpoint#${this.app}#${this.streamName}#${shardId}` } };
  }

  async get(shardId: string): Promise<string | undefined> {
    const out = await this.dynamodb.send(
      new GetItemCommand({ TableName: this.tableName, Key: this.key(shardId), ConsistentRead: true }),
    );
    return out.Item?.sequenceNumber?.S;
  }

  async put(shardId: string, sequenceNumber: string): Promise<void> {
    await this.dynamodb.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: {
          ...this.key(shardId),
          sequenceNumber: { S: sequenceNumber },
          updatedAt: { S: this.now().toISOString() },
        },
      }),
    );
  }

  async delete(shardId: string): Promise<void> {
    await this.dynamodb.send(new DeleteItemCommand({ TableName: this.tableName, Key: this.key(shardId) }));
  }
}
