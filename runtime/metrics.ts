/**
 * A small Prometheus text-format registry (exposition format 0.0.4). Counters and gauges with
 * labels, and histograms with fixed buckets. Cheap on the hot path: one Map lookup per update.
 */

type Labels = Readonly<Record<string, string>>

const labelKey = (labels: Labels | undefined): string => {
  if (labels === undefined) return ''
  const keys = Object.keys(labels)
  if (keys.length === 0) return ''
  return keys
    .sort()
    .map((k) => `${k}="${String(labels[k]).replace(/["\\\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`))}"`)
    .join(',')
}

interface Metric {
  name: string
  help: string
  render(): string[]
}

export class Counter implements Metric {
  private readonly values = new Map<string, number>()
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  inc(labels?: Labels, by = 1): void {
    const key = labelKey(labels)
    this.values.set(key, (this.values.get(key) ?? 0) + by)
  }
  get(labels?: Labels): number {
    return this.values.get(labelKey(labels)) ?? 0
  }
  total(): number {
    let sum = 0
    for (const v of this.values.values()) sum += v
    return sum
  }
  render(): string[] {
    return [...this.values].map(([k, v]) => `${this.name}${k ? `{${k}}` : ''} ${v}`)
  }
}

export class Gauge implements Metric {
  private readonly values = new Map<string, number>()
  private readonly collectors: Array<() => void> = []
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  set(value: number, labels?: Labels): void {
    this.values.set(labelKey(labels), value)
  }
  inc(labels?: Labels, by = 1): void {
    const key = labelKey(labels)
    this.values.set(key, (this.values.get(key) ?? 0) + by)
  }
  get(labels?: Labels): number {
    return this.values.get(labelKey(labels)) ?? 0
  }
  /** A function that refreshes the value when /metrics is scraped. */
  collect(fn: () => void): this {
    this.collectors.push(fn)
    return this
  }
  render(): string[] {
    for (const fn of this.collectors) fn()
    return [...this.values].map(([k, v]) => `${this.name}${k ? `{${k}}` : ''} ${v}`)
  }
}

export class Histogram implements Metric {
  private readonly counts: number[]
  private sum = 0
  private count = 0
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[],
  ) {
    this.counts = buckets.map(() => 0)
  }
  observe(value: number): void {
    this.sum += value
    this.count += 1
    for (let i = 0; i < this.buckets.length; i++) {
      if (value <= (this.buckets[i] as number)) this.counts[i] = (this.counts[i] as number) + 1
    }
  }
  render(): string[] {
    const lines = this.buckets.map((b, i) => `${this.name}_bucket{le="${b}"} ${this.counts[i]}`)
    lines.push(`${this.name}_bucket{le="+Inf"} ${this.count}`, `${this.name}_sum ${this.sum}`, `${this.name}_count ${this.count}`)
    return lines
  }
}

export class Metrics {
  private readonly metrics = new Map<string, Metric>()

  counter(name: string, help: string): Counter {
    return this.register(name, () => new Counter(name, help), 'counter')
  }
  gauge(name: string, help: string): Gauge {
    return this.register(name, () => new Gauge(name, help), 'gauge')
  }
  histogram(name: string, help: string, buckets: readonly number[]): Histogram {
    return this.register(name, () => new Histogram(name, help, buckets), 'histogram')
  }

  /** Registering a name twice returns the first metric, so two services may share a counter. */
  private register<M extends Metric>(name: string, make: () => M, _type: string): M {
    const existing = this.metrics.get(name)
    if (existing) return existing as M
    const metric = make()
    this.metrics.set(name, metric)
    return metric
  }

  render(): string {
    const out: string[] = []
    for (const m of this.metrics.values()) {
      const type = m instanceof Counter ? 'counter' : m instanceof Gauge ? 'gauge' : 'histogram'
      out.push(`# HELP ${m.name} ${m.help}`, `# TYPE ${m.name} ${type}`, ...m.render())
    }
    return `${out.join('\n')}\n`
  }
}
