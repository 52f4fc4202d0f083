#!/bin/bash
# LocalStack "ready" hook (mounted by docker-compose.yml into /etc/localstack/init/ready.d/):
# creates the Kinesis stream and the DynamoDB state table the tick-replay services use, with the
# names and key that lib/config.ts and infra/bootstrap.ts expect. Idempotent: a restarted
# LocalStack that kept its state (PERSISTENCE=1) finds them and leaves them as they are.
# `awslocal` is the aws CLI preconfigured for LocalStack, shipped in the LocalStack image.
set -euo pipefail

STREAM_NAME="${STREAM_NAME:-tick-replay-quotes}"
TABLE_NAME="${TABLE_NAME:-tick-replay-state}"
SHARD_COUNT="${SHARD_COUNT:-4}"

if awslocal kinesis describe-stream-summary --stream-name "$STREAM_NAME" >/dev/null 2>&1; then
  echo "tick-replay init: Kinesis stream $STREAM_NAME exists"
else
  awslocal kinesis create-stream --stream-name "$STREAM_NAME" --shard-count "$SHARD_COUNT"
  echo "tick-replay init: created Kinesis stream $STREAM_NAME ($SHARD_COUNT shards)"
fi
awslocal kinesis wait stream-exists --stream-name "$STREAM_NAME"

if awslocal dynamodb describe-table --table-name "$TABLE_NAME" >/dev/null 2>&1; then
  echo "tick-replay init: DynamoDB table $TABLE_NAME exists"
else
  # The table's only key is `pk` (string, HASH): infra/bootstrap.ts refuses any other.
  awslocal dynamodb create-table --table-name "$TABLE_NAME" \
    --attribute-definitions AttributeName=pk,AttributeType=S \
    --key-schema AttributeName=pk,KeyType=HASH \
    --billing-mode PAY_PER_REQUEST >/dev/null
  echo "tick-replay init: created DynamoDB table $TABLE_NAME"
fi
awslocal dynamodb wait table-exists --table-name "$TABLE_NAME"
echo "tick-replay init: ready"
