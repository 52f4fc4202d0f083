/**
 * A binary min-heap ordered by a comparator (negative: `a` comes first). Array-backed and
 * allocation-light: push/pop move a "hole" instead of swapping, and the backing array keeps its
 * capacity, so the hot path allocates nothing once the heap has grown to its working size.
 * Not stable by itself: callers that need stability put a tie-breaker (e.g. a sequence number)
 * into the comparator.
 */
export type Comparator<T> = (a: T, b: T) => number;

export class MinHeap<T> {
  private readonly items: T[] = [];
  private readonly compare: Comparator<T>;

  constructor(compare: Comparator<T>) {
    this.compare = compare;
  }

  get size(): number {
    return this.items.length;
  }

  /** The smallest item, without removing it. */
  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    const items = this.items;
    let i = items.length;
    items.push(item);
    // Sift up: move parents down into the hole until the item's place is found.
    while (i > 0) {
      const parentIndex = (i - 1) >> 1;
      const parent = items[parentIndex] as T;
      if (this.compare(item, parent) >= 0) break;
      items[i] = parent;
      i = parentIndex;
    }
    items[i] = item;
  }

  /** Removes and returns the smallest item. */
  pop(): T | undefined {
    const items = this.items;
    const n = items.length;
    if (n === 0) return undefined;
    const top = items[0] as T;
    const last = items.pop() as T;
    if (n === 1) return top;
    // Sift down: fill the root hole with the smaller child until `last` fits.
    const size = n - 1;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= size) break;
      const right = child + 1;
      if (right < size && this.compare(items[right] as T, items[child] as T) < 0) child = right;
      const childItem = items[child] as T;
      if (this.compare(childItem, last) >= 0) break;
      items[i] = childItem;
      i = child;
    }
    items[i] = last;
    return top;
  }
}
