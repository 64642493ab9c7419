/**
 * Walks over processors and the branches between them, without recursion: a config or
 * a James file with thousands of chained processors must get an answer, not a stack overflow.
 */
export type Graph = ReadonlyMap<string, readonly string[]>;

/** Every node reached from `starts` along the edges (edges to unknown nodes are ignored). */
export function reachableFrom(graph: Graph, starts: readonly string[]): Set<string> {
  const reached = new Set<string>();
  const todo = starts.filter((s) => graph.has(s));
  while (todo.length > 0) {
    const name = todo.pop()!;
    if (reached.has(name)) continue;
    reached.add(name);
    for (const next of graph.get(name)!) if (graph.has(next) && !reached.has(next)) todo.push(next);
  }
  return reached;
}

/** A cycle as the nodes along it, first repeated last (`a, b, a`), or null when there is none. */
export function findLoop(graph: Graph): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  for (const start of graph.keys()) {
    if (state.has(start)) continue;
    state.set(start, 'open');
    const stack = [{ name: start, next: [...graph.get(start)!].reverse() }];
    while (stack.length > 0) {
      const top = stack.at(-1)!;
      const next = top.next.pop();
      if (next === undefined) {
        state.set(top.name, 'done');
        stack.pop();
      } else if (state.get(next) === 'open') {
        return [...stack.slice(stack.findIndex((f) => f.name === next)).map((f) => f.name), next];
      } else if (!state.has(next) && graph.has(next)) {
        state.set(next, 'open');
        stack.push({ name: next, next: [...graph.get(next)!].reverse() });
      }
    }
  }
  return null;
}
