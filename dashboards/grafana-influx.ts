/**
 * The InfluxDB pieces the foundation SDK 0.0.21 lacks: the datasource reference, an InfluxQL
 * raw query target and an InfluxQL annotation. Field names follow Grafana's InfluxQuery
 * (public/app/plugins/datasource/influxdb/types.ts) and its annotation migration
 * (migrations.ts: a target with `query` is used as is).
 */
import type { Builder, Dataquery } from '@grafana/grafana-foundation-sdk/cog'
import type { AnnotationQuery, DataSourceRef } from '@grafana/grafana-foundation-sdk/dashboard'

/** Must equal the uid in provisioning/datasources/influxdb.yaml (a test checks it). */
export const DATASOURCE_UID = 'suanyang-influxql'
export const DATASOURCE: DataSourceRef = { type: 'influxdb', uid: DATASOURCE_UID }

export type ResultFormat = 'time_series' | 'table'

export interface InfluxQLTarget extends Dataquery {
  refId: string
  datasource: DataSourceRef
  /** Raw InfluxQL; Grafana expands $timeFilter, $__interval and variables. */
  query: string
  rawQuery: true
  resultFormat: ResultFormat
  /** Legend name; `$tag_device` is the device tag of each series. */
  alias?: string
}

const dataqueryVariant = () => {}

export class InfluxQL implements Builder<Dataquery> {
  private readonly target: InfluxQLTarget

  constructor(query: string, refId: string, resultFormat: ResultFormat = 'time_series') {
    this.target = {
      refId,
      datasource: DATASOURCE,
      query,
      rawQuery: true,
      resultFormat,
      _implementsDataqueryVariant: dataqueryVariant,
    }
  }

  alias(alias: string): this {
    this.target.alias = alias
    return this
  }

  build(): InfluxQLTarget {
    return this.target
  }
}

export interface InfluxAnnotationOptions {
  name: string
  query: string
  iconColor: string
  /** Column shown as the annotation's text. */
  textColumn: string
  /** Columns shown as its tags. */
  tagsColumns: readonly string[]
}

interface InfluxAnnotationTarget extends Dataquery {
  refId: string
  query: string
  rawQuery: true
  resultFormat: 'table'
  fromAnnotations: true
  textColumn: string
  tagsColumn: string
  titleColumn: string
  timeEndColumn: string
}

export class InfluxAnnotation implements Builder<AnnotationQuery> {
  constructor(private readonly options: InfluxAnnotationOptions) {}

  build(): AnnotationQuery {
    const { name, query, iconColor, textColumn, tagsColumns } = this.options
    const target: InfluxAnnotationTarget = {
      refId: 'Anno',
      query,
      rawQuery: true,
      resultFormat: 'table',
      fromAnnotations: true,
      textColumn,
      tagsColumn: tagsColumns.join(','),
      titleColumn: '',
      timeEndColumn: '',
      _implementsDataqueryVariant: dataqueryVariant,
    }
    return { name, datasource: DATASOURCE, enable: true, iconColor, target }
  }
}
