/** Types of i18n.js (the page's labels), for the console's unit tests. */
export declare const LANGS: readonly ['th', 'en']
export declare const TEXT: Readonly<{ en: Record<string, string>; th: Record<string, string> }>
export declare function translate(lang: string, key: string, vars?: Record<string, string | number>): string
export declare function isLang(value: unknown): value is 'th' | 'en'
