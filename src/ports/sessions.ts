/** Dashboard sessions: whatever the session holds (who signed in, the CSRF secret), by session id. */
export interface SessionStore {
  get(id: string): Promise<Record<string, unknown> | null>;
  /** Saves the session for `ttlSeconds` (each save starts the time again). */
  set(id: string, data: Record<string, unknown>, ttlSeconds: number): Promise<void>;
  destroy(id: string): Promise<void>;
  close(): Promise<void>;
}
