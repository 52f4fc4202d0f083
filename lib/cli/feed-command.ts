/**
 * `tick-replay feed`: serves a CSV file as a live websocket quote feed until Ctrl-C, so the live
 * mode can be demonstrated and tested without an exchange. The URL goes to stdout (a result a
 * script can read); JSON logs go to stderr.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { resolveConfig } from '../config.ts';
import { startFeedServer } from '../live/feed-server.ts';
import { createLogger, type Logger } from '../logging/logger.ts';
import { parseSpeed, type Speed } from '../replay/pacer.ts';

interface FeedFlags {
  file: string;
  port: number;
  host: string;
  speed: Speed;
  loop?: boolean;
  logLevel?: string;
}

export const DEFAULT_FEED_PORT = 8765;

function speedOption(value: string): Speed {
  try {
    return parseSpeed(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

function portOption(value: string): number {
  const port = /^\d{1,5}$/.test(value.trim()) ? Number(value) : Number.NaN;
  if (!(port >= 0 && port <= 65_535)) throw new InvalidArgumentError(`--port must be an integer from 0 to 65535, got "${value}"`);
  return port;
}

/** Resolves on the first SIGINT/SIGTERM; a second one exits at once (a close that hangs). */
function untilSignal(logger: Logger): { stopped: Promise<NodeJS.Signals>; dispose(): void } {
  let received: NodeJS.Signals | undefined;
  let resolveStopped: (name: NodeJS.Signals) => void = () => undefined;
  const stopped = new Promise<NodeJS.Signals>((resolve) => (resolveStopped = resolve));
  const onSignal = (name: NodeJS.Signals): void => {
    if (received !== undefined) {
      process.stderr.write(`\ntick-replay: second ${name}, exiting now\n`);
      process.exit(130);
    }
    received = name;
    logger.info('stopping the live feed', { signal: name });
    resolveStopped(name);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    stopped,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

async function feedCommand(flags: FeedFlags): Promise<void> {
  const config = resolveConfig(process.env, { logLevel: flags.logLevel });
  const logger = createLogger({ service: 'tick-replay', level: config.logLevel });
  const signals = untilSignal(logger);
  try {
    // The listening socket keeps the process alive until close().
    const server = await startFeedServer({
      file: flags.file,
      host: flags.host,
      port: flags.port,
      speed: flags.speed,
      loop: flags.loop === true,
      logger,
      allowedHosts: config.allowedHosts,
    });
    process.stdout.write(`live feed on ${server.url} (${flags.file})\n`);
    await signals.stopped;
    await server.close();
    logger.info('live feed stopped', { sent: server.sent() });
  } finally {
    signals.dispose();
  }
}

export function registerFeedCommand(program: Command): void {
  program
    .command('feed')
    .description('serve a CSV file of quotes as a live websocket feed (one JSON message per quote) until Ctrl-C')
    .requiredOption('--file <csv>', 'CSV file of quotes to stream (e.g. data/live_sample.csv)')
    .addOption(new Option('--port <port>', 'port to listen on (0 picks a free one)').argParser(portOption).default(DEFAULT_FEED_PORT))
    .option('--host <host>', 'interface to listen on (beyond loopback, name the hosts clients use in ALLOWED_HOSTS)', '127.0.0.1')
    .addOption(new Option('--speed <speed>', '"max" (no waits), 1 (real time) or N (N times faster)').argParser(speedOption).default(1))
    .option('--loop', 'start over at the end of the file instead of going quiet')
    .option('--log-level <level>', 'DEBUG, INFO, WARN, ERROR or SILENT (env POWERTOOLS_LOG_LEVEL, else LOG_LEVEL)')
    .action(feedCommand);
}
