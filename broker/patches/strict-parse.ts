/**
 * Two rules of MQTT 3.1.1 that mqtt-packet 9's parser does not enforce, added to the parser Aedes
 * loads (the one lean.ts and fast-parse.ts patch):
 * - every string (client id, Will topic, username, topic names and filters) is well-formed UTF-8
 *   without U+0000 [MQTT-1.5.3-1, -2]: the parser decoded ill-formed bytes to U+FFFD and went on;
 * - a packet identifier is never 0 [MQTT-2.3.1-1]: the parser took 0.
 * A packet that breaks one is refused like any malformed packet: the parser reports an error and
 * Aedes closes the connection [MQTT-4.8.0-1]. strict-parse.test.ts runs the real parser.
 */
import { wellFormedUtf8 } from '../../runtime/mqtt-rules.js'
import { definePatch, fn, fromAedes, problems } from './patch.js'

interface ParserInternals {
  _pos: number
  _list: { slice(start: number, end: number): Buffer }
  packet: { messageId?: number }
  _parseString(maybeBuffer?: boolean): string | null
  _parseMessageId(): boolean
  _emitError(err: Error): void
  /** The error a string check left for the caller's next _emitError. */
  _strictError?: Error | undefined
}

const PATCHED = Symbol.for('suanyang.mqttParserStrict')

function installStrictParse(): void {
  const Parser = fromAedes('mqtt-packet/parser') as { prototype: ParserInternals & { [PATCHED]?: true } }
  const proto = Parser.prototype
  if (proto[PATCHED]) return
  proto[PATCHED] = true
  const parseString = proto._parseString
  const parseMessageId = proto._parseMessageId
  const emitError = proto._emitError
  proto._parseString = function (this: ParserInternals, maybeBuffer?: boolean) {
    const start = this._pos + 2 // after the 2-byte length
    const s = parseString.call(this, maybeBuffer)
    if (s === null || wellFormedUtf8(s, this._list.slice(start, this._pos))) return s
    // Every caller answers null with its own _emitError ("Cannot parse topic"): this reason replaces it.
    this._strictError = new Error('malformed UTF-8 string [MQTT-1.5.3-1]')
    return null
  }
  proto._parseMessageId = function (this: ParserInternals) {
    if (!parseMessageId.call(this)) return false
    if (this.packet.messageId !== 0) return true
    this._emitError(new Error('packet identifier 0 [MQTT-2.3.1-1]'))
    return false
  }
  proto._emitError = function (this: ParserInternals, err: Error) {
    const strict = this._strictError
    this._strictError = undefined
    emitError.call(this, strict ?? err)
  }
}

export const strictParse = definePatch({
  name: 'strict-parse',
  package: 'mqtt-packet',
  versions: ['9.0.2'],
  clause: '[MQTT-1.5.3-1], [MQTT-1.5.3-2] well-formed UTF-8 without U+0000; [MQTT-2.3.1-1] no packet id 0',
  check({ Parser, parser }) {
    return problems(
      fn('Parser.prototype', Parser.prototype, '_parseString', 1),
      fn('Parser.prototype', Parser.prototype, '_parseMessageId', 0),
      fn('Parser.prototype', Parser.prototype, '_emitError', 1),
      fn("a parser's _list", (parser as { _list?: unknown })._list, 'slice', 2),
    )
  },
  install: installStrictParse,
})
