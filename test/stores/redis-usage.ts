import type { Cluster, Redis } from 'ioredis';

/**
 * The keys and bytes (`MEMORY USAGE`, which counts the key, its value and Redis' overhead) that
 * one user's hash tag holds under `keyPrefix`: found by SCAN of this test's own prefix on every
 * master, each measured on the node that holds it. Read-only.
 */
export async function userUsage(client: Redis | Cluster, keyPrefix: string, tag: string): Promise<{ keys: number; bytes: number }> {
  const nodes: Redis[] = client.isCluster ? (client as Cluster).nodes('master') : [client as Redis];
  // The tag is base64url: no glob characters; the prefix's are escaped.
  const pattern = `${keyPrefix.replace(/[\\*?[\]]/g, '\\$&')}{${tag}}:*`;
  let keys = 0;
  let bytes = 0;
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, found] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      const sizes = await Promise.all(found.map((key) => node.call('MEMORY', 'USAGE', key, 'SAMPLES', '0') as Promise<number | null>));
      keys += found.length;
      bytes += sizes.reduce<number>((sum, size) => sum + (size ?? 0), 0);
    } while (cursor !== '0');
  }
  return { keys, bytes };
}
