/**
 * Errors of the live path. Connection trouble is not an error type here: the live source treats
 * every close, refusal or timeout as transient and reconnects with backoff (a feed that is down
 * now may be up in a minute). What is left are programming and start-up errors.
 */
import { TickReplayError } from '../errors.ts';

/** The feed server cannot start (port in use, address not available). Fatal at start-up. */
export class FeedServerError extends TickReplayError {}

/** A LiveSource was used against its contract (e.g. iterated twice). A bug in the caller. */
export class LiveSourceError extends TickReplayError {}
