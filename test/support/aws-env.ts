/**
 * An environment in which a tick-replay child starts the embedded stack whatever the caller's
 * shell says: every endpoint variable the CLI honours (AWS_ENDPOINT_URL and each service's own,
 * lib/aws/endpoints.ts) and the target are blanked (an empty variable counts as unset).
 */
import { SERVICE_ENDPOINT_VARIABLES } from '../../lib/aws/endpoints.ts';

export const EMBEDDED_TARGET_ENV: Readonly<Record<string, string>> = Object.freeze(
  Object.fromEntries(['AWS_ENDPOINT_URL', ...Object.values(SERVICE_ENDPOINT_VARIABLES), 'TICK_REPLAY_TARGET'].map((name) => [name, ''])),
);

/** Our environment for a tick-replay child (or anything it runs): the embedded target forced, `extra` over it. */
export function embeddedChildEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, ...EMBEDDED_TARGET_ENV, ...extra };
}
