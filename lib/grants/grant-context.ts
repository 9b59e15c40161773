import type { FormParams } from '../endpoints/form-body';
import type { NormalizedClient, NormalizedRouterOptions } from '../options/router-options';
import type { TokenSet } from '../stores/token-store';

/** What every grant handler gets: the authenticated client, the parameters and the options. */
export interface GrantContext {
  readonly client: NormalizedClient;
  readonly params: FormParams;
  readonly options: NormalizedRouterOptions;
}

/** A grant handler: validates its parameters and returns the tokens to send. */
export type GrantHandler = (context: GrantContext) => Promise<TokenSet>;
