/**
 * What `GET /mode` shows a caller (pure). The replayer's full status (control-store.ts) names the
 * file it reads and the live feed's URL, and carries its checkpoint position: configuration of the
 * machine it runs on, not the caller's business, and on AWS the caller is anyone the IAM policy
 * lets in. The caller gets the mode, the progress and the live connection's health, nothing that
 * locates anything.
 */
import type { ReplayStatus } from './control-store.ts';

export interface PublicReplayStatus {
  mode: ReplayStatus['mode'];
  appliedVersion: number;
  historical: { done: number; total: number; rejected?: number; completed: boolean };
  live: { connection: string; received: number; rejected: number; reconnects: number };
  updatedAt: string;
}

export function publicStatus(status: ReplayStatus): PublicReplayStatus {
  const { historical, live } = status;
  return {
    mode: status.mode,
    appliedVersion: status.appliedVersion,
    historical: {
      done: historical.done,
      total: historical.total,
      ...(historical.rejected !== undefined ? { rejected: historical.rejected } : {}),
      completed: historical.completed,
    },
    live: { connection: live.connection, received: live.received, rejected: live.rejected, reconnects: live.reconnects },
    updatedAt: status.updatedAt,
  };
}
