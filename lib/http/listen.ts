/**
 * Starting a local server on its port, with the failure said in the user's terms: which server,
 * and the flag that moves it when the port is taken.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InputError } from '../errors.ts';

export interface ListenOptions {
  host: string;
  /** 0: any free port. */
  port: number;
  /** The server, as the message names it (`dashboard`, `mode API`). */
  what: string;
  /** The flag that chooses its port (`--dashboard-port`). */
  portFlag: string;
}

/** Listens; a taken port or another listen error rejects with an InputError. */
export async function listenLocal(server: Server, options: ListenOptions): Promise<AddressInfo> {
  const { host, port, what, portFlag } = options;
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      const why = error.code === 'EADDRINUSE' ? `the port is already in use (give another ${portFlag}, or 0)` : error.message;
      reject(new InputError(`${what}: cannot listen on ${host}:${port}: ${why}`, { host, port, code: error.code }, { cause: error }));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  return server.address() as AddressInfo;
}
