// Kubernetes resource quantities ("100m", "64Mi", "1.5", "1e3") as exact integers of nano-units,
// so they can be added and compared without floating point (the API server compares exactly).
const BINARY: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const QUANTITY = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/;
const NANO = 10n ** 9n;

/** The quantity in nano-units (rounded up, as the API server rounds), or undefined when it is not one. */
export function parseQuantity(text: string): bigint | undefined {
  const match = QUANTITY.exec(text);
  if (!match) return undefined;
  const [, sign, number, suffix = ''] = match;
  const [whole, fraction = ''] = number.split('.');
  // digits / 10^fraction.length, times the suffix's scale, times 10^9.
  let numerator = BigInt(`${whole}${fraction}` || '0') * NANO;
  let denominator = 10n ** BigInt(fraction.length);
  if (suffix in BINARY) numerator <<= BigInt(BINARY[suffix]);
  else {
    const exponent = suffix in DECIMAL ? DECIMAL[suffix] : Number(suffix.slice(1));
    if (Math.abs(exponent) > 30) return undefined;
    if (exponent >= 0) numerator *= 10n ** BigInt(exponent);
    else denominator *= 10n ** BigInt(-exponent);
  }
  const nanos = (numerator + denominator - 1n) / denominator;
  return sign === '-' ? -nanos : nanos;
}

/** The quantity written in the style of `like` (64Mi, 1G, 500m, 2): its kind of suffix where exact, else plain or milli. */
export function formatQuantity(nanos: bigint, like = ''): string {
  if (nanos < 0n) return `-${formatQuantity(-nanos, like)}`;
  if (nanos % NANO !== 0n) {
    for (const [suffix, divisor] of [
      ['m', 10n ** 6n],
      ['u', 10n ** 3n],
    ] as const)
      if (nanos % divisor === 0n) return `${nanos / divisor}${suffix}`;
    return `${nanos}n`;
  }
  const units = nanos / NANO;
  if (units === 0n) return '0';
  const binary = /(Ki|Mi|Gi|Ti|Pi|Ei)$/.test(like);
  const decimal = /[kMGTPE]$/.test(like);
  const scales = binary
    ? Object.entries(BINARY).map(([suffix, shift]) => [suffix, 1n << BigInt(shift)] as const)
    : decimal
      ? Object.entries(DECIMAL)
          .filter(([, exponent]) => exponent > 0)
          .map(([suffix, exponent]) => [suffix, 10n ** BigInt(exponent)] as const)
      : [];
  for (const [suffix, unit] of scales.reverse()) if (units % unit === 0n) return `${units / unit}${suffix}`;
  return `${units}`;
}
