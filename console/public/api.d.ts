/** Types of api.js (the page's HTTP), for the console's unit tests. */
export declare function errorKey(status: number): string
export declare const session: { readonly token: string; readonly name: string; save(token: string, name: string): void; clear(): void }
export declare function request(
  method: string,
  url: string,
  opts?: { body?: unknown; auth?: boolean; timeoutMs?: number },
): Promise<{ ok: boolean; status: number; body: Record<string, unknown>; error: string | undefined; detail: string | undefined }>
