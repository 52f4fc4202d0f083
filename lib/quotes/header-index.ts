/**
 * Column lookup for the fixed-header formats (tardis, Databento): their column names are known,
 * only the order may vary and extra columns may appear.
 */
import { CsvColumnsError } from './columns.ts';

export class HeaderIndex {
  private readonly index = new Map<string, number>();

  /** `names`: the header as normaliseHeader returns it. */
  constructor(
    private readonly names: readonly string[],
    private readonly file: string,
    private readonly format: string,
  ) {
    names.forEach((name, i) => {
      if (!this.index.has(name)) this.index.set(name, i);
    });
  }

  get width(): number {
    return this.names.length;
  }

  has(name: string): boolean {
    return this.index.has(name);
  }

  optional(name: string): number | undefined {
    return this.index.get(name);
  }

  /** The column's index; CsvColumnsError naming the file, the format and the column when absent. */
  required(name: string, why = ''): number {
    const i = this.index.get(name);
    if (i === undefined) {
      throw new CsvColumnsError(`${this.file}: looks like a ${this.format} file but has no "${name}" column${why}; header is: ${this.names.join(',').slice(0, 200)}`, {
        file: this.file,
        format: this.format,
        missing: [name],
      });
    }
    return i;
  }
}
