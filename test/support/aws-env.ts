/**
 * An environment in which a tick-replay child starts the embedded stack whatever the caller's
 * shell says: every endpoint variable the CLI honours (AWS_ENDPOINT_URL and each service's own,
 * lib/aws/endpoints.ts) and the target are blanked (an empty variable counts as unset).
 */
import { SERVICE_ENDPOINT_VARIABLES } from '../../lib/aws/endpoints.ts';

export const EMBEDDED_TARGET_ENV: Readonly<Record<string, string>> = Object.freeze(
  Object.fromEntries(['AWS_ENDPOINT_URL', ...Object.values(SERVICE_ENDPOINT_VARIABLES), 'TICK_REPLAY_TARGET'].map((name) => [name, ''])),
);
