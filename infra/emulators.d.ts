/**
 * Minimal declarations for the two emulators of the embedded stack (neither ships types).
 * Both export a CommonJS factory returning a plain `http.Server` whose `close()` is patched to
 * close the LevelDB store as well (kinesalite: store first, then server; dynalite: server first,
 * then the store, waiting up to 30 s for pending operations).
 */
declare module 'kinesalite' {
  import type { Server } from 'node:http';

  interface KinesaliteOptions {
    /** LevelDB directory (leveldown); in-memory when absent. */
    path?: string;
    /** Time a stream stays CREATING / DELETING / UPDATING (default 500 ms each). */
    createStreamMs?: number;
    deleteStreamMs?: number;
    updateStreamMs?: number;
    /** Maximum open shards across all streams (default 10). */
    shardLimit?: number;
    ssl?: boolean;
  }

  function kinesalite(options?: KinesaliteOptions): Server;
  export = kinesalite;
}

declare module 'dynalite' {
  import type { Server } from 'node:http';

  interface DynaliteOptions {
    /** LevelDB directory (classic-level); in-memory when absent. */
    path?: string;
    /** Time a table stays CREATING / DELETING / UPDATING (default 500 ms each). */
    createTableMs?: number;
    deleteTableMs?: number;
    updateTableMs?: number;
    maxItemSizeKb?: number;
    ssl?: boolean;
    verbose?: boolean;
    debug?: boolean;
  }

  function dynalite(options?: DynaliteOptions): Server;
  export = dynalite;
}
