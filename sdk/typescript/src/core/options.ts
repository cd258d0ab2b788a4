// Options objects are checked at run time as well: in plain JavaScript a misspelled option
// (`baseUrl` for `baseURL`) would otherwise be ignored silently, and the token sent to the default
// server. TypeScript callers get the same names checked at compile time.

/** Throws a TypeError naming the first unknown key of `options`, and the known name it is closest to. */
export function assertKnownOptions(options: unknown, known: readonly string[], what = 'option'): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`Expected an object of ${what}s, got ${options === null ? 'null' : typeof options}.`);
  }
  for (const name of Object.keys(options)) {
    if (known.includes(name)) continue;
    const suggestion = closest(name, known);
    const hint = suggestion ? `did you mean '${suggestion}'?` : `known: ${known.map((k) => `'${k}'`).join(', ')}.`;
    throw new TypeError(`Unknown ${what} '${name}'; ${hint}`);
  }
}

function normalized(name: string): string {
  return name.toLowerCase().replace(/[-_]/g, '');
}

/** The known name equal to `name` but for case and separators, else within two edits; or undefined. */
function closest(name: string, known: readonly string[]): string | undefined {
  const exact = known.find((candidate) => normalized(candidate) === normalized(name));
  if (exact) return exact;
  let best: { name: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(normalized(name), normalized(candidate));
    if (distance <= 2 && (best === undefined || distance < best.distance)) best = { name: candidate, distance };
  }
  return best?.name;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
