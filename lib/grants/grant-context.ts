import type { FormParams } from '../params/form-params';
import type { NormalizedClient, NormalizedRouterOptions } from '../options/router-options';
import type { TokenSet } from '../stores/token-store';

/** What every grant handler gets: the authenticated client, the parameters and the options. */
export interface GrantContext {
  readonly client: NormalizedClient;
  readonly params: FormParams;
  readonly options: NormalizedRouterOptions;
  /** The client's IP address (Express' `req.ip`, which honours `trust proxy`). */
  readonly ip: string;
}

/** A grant handler: validates its parameters and returns the tokens to send. */
export type GrantHandler = (context: GrantContext) => Promise<TokenSet>;
