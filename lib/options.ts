/**
 * The house convention for options: a class takes one `…Options` object and keeps it as
 * `private readonly options: Resolved<…Options, …>`, every default applied once in the
 * constructor, so the code reads `this.options.x` and never repeats a default. The options
 * listed in `WithoutDefault` stay optional: absent means off.
 */
export type Resolved<T, WithoutDefault extends keyof T = never> = Required<Omit<T, WithoutDefault>> & Pick<T, WithoutDefault>;
