/**
 * Reads the JSON lines a piece of code prints on stdout/stderr (Powertools' logger and EMF
 * metrics print there), letting everything else through: under `node --test` the runner's own
 * messages travel on the same stdout and must not be swallowed.
 */
type Write = typeof process.stdout.write;

export async function jsonLinesPrinted<T>(fn: () => Promise<T> | T, streams: ReadonlyArray<NodeJS.WriteStream> = [process.stdout, process.stderr]): Promise<{ result: T; lines: string[] }> {
  const lines: string[] = [];
  const originals = streams.map((stream): Write => stream.write.bind(stream));
  streams.forEach((stream, i) => {
    const original = originals[i] as Write;
    const capture = (chunk: string | Uint8Array, ...rest: never[]): boolean => {
      if (typeof chunk === 'string' && chunk.startsWith('{')) {
        lines.push(...chunk.split('\n').filter((l) => l !== ''));
        return true;
      }
      return original(chunk, ...rest);
    };
    stream.write = capture;
  });
  try {
    return { result: await fn(), lines };
  } finally {
    streams.forEach((stream, i) => (stream.write = originals[i] as Write));
  }
}
