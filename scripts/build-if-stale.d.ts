/** Why `root`'s dist/ needs a build (`npm start` then runs `npm run build`), or `undefined` when it is up to date. */
export function staleReason(root?: string): string | undefined;
