import type { SessionUser } from '$lib/contracts/auth';
import type { SessionRecord } from '$lib/server/db/queries/identity';

declare global {
  namespace App {
    interface Locals {
      user: SessionUser | null;
      session: SessionRecord | null;
    }
    interface Error {
      message: string;
      /** Quote it to support: the server log has the details under this id. */
      id?: string;
    }
  }
}

export {};
