import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, importJWK, type JWK, type JWTPayload, SignJWT } from 'jose';
import { errors, Provider } from 'oidc-provider';

/** The role scopes the provider knows (the gateway's AUTH_ROLE_SCOPE_PREFIX default, `gateway:`). */
export const ROLE_SCOPES = ['gateway:viewer', 'gateway:trader', 'gateway:risk', 'gateway:admin'];

export interface OidcClient {
  readonly id: string;
  /** Put into every access token of the client as the `roles` claim (via `extraTokenClaims`). */
  readonly roles?: string[];
  /** Put into every access token of the client as the `accounts` claim. */
  readonly accounts?: string[];
  /** Scopes the client may ask for (a subset of ROLE_SCOPES). */
  readonly scope?: string;
}

export interface OidcServer {
  /** The issuer identifier (`iss`), `http://127.0.0.1:<port>`, also where discovery lives. */
  readonly issuer: string;
  /** GET requests for the JWKS so far. */
  readonly jwksFetches: number;
  /** A JWT access token by the client-credentials grant (RFC 6749 §4.4) for `resource` (RFC 8707). */
  token(clientId: string, options?: { resource?: string; scope?: string }): Promise<string>;
  /** Signs `claims` with the provider's current signing key (for shapes the provider will not issue). */
  sign(claims: JWTPayload, header?: Record<string, unknown>): Promise<string>;
  /** The provider's current public signing key. */
  publicKey(): JWK;
  /** Key rotation: a new signing key, published first and used from now on; the old one stays published. */
  rotateKey(): Promise<string>;
  close(): Promise<void>;
}

const SECRET = 'e2e-client-secret';
const ALG = 'ES256';

async function newKey(): Promise<JWK> {
  const { privateKey } = await generateKeyPair(ALG, { extractable: true });
  return { ...(await exportJWK(privateKey)), kid: randomUUID(), alg: ALG, use: 'sig' };
}

const publicPart = ({ d: _d, ...rest }: JWK): JWK => rest;

/**
 * A real OAuth2/OIDC authorization server (`oidc-provider`) on localhost, issuing RFC 9068 JWT access
 * tokens by client credentials for the resource indicators `resources` (the first is the gateway's
 * audience). Key rotation swaps in a provider with one more key behind the same address, as an issuer
 * rolling its keys would.
 */
export async function startOidcServer(resources: string[], clients: OidcClient[]): Promise<OidcServer> {
  const byId = new Map(clients.map((c) => [c.id, c]));
  let keys: JWK[] = [await newKey()];
  let jwksFetches = 0;
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.writeHead(503).end();
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/jwks') {
      jwksFetches += 1;
    }
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const build = () => {
    const provider = new Provider(issuer, {
      clients: clients.map((c) => ({
        client_id: c.id,
        client_secret: SECRET,
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
        ...(c.scope ? { scope: c.scope } : {}),
      })),
      jwks: { keys },
      clientDefaults: { id_token_signed_response_alg: ALG },
      scopes: ROLE_SCOPES,
      cookies: { keys: ['e2e-cookie-key'] },
      ttl: { ClientCredentials: 300 },
      features: {
        devInteractions: { enabled: false },
        clientCredentials: { enabled: true },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => resources[0],
          useGrantedResource: () => true,
          getResourceServerInfo: (_ctx: unknown, resource: string) => {
            if (!resources.includes(resource)) {
              throw new errors.InvalidTarget();
            }
            return {
              scope: ROLE_SCOPES.join(' '),
              audience: resource,
              accessTokenTTL: 300,
              accessTokenFormat: 'jwt',
              jwt: { sign: { alg: ALG } },
            };
          },
        },
      },
      extraTokenClaims: (_ctx: unknown, token: { clientId: string }) => {
        const client = byId.get(token.clientId);
        return {
          ...(client?.roles ? { roles: client.roles } : {}),
          ...(client?.accounts ? { accounts: client.accounts } : {}),
        };
      },
    });
    handler = provider.callback();
  };
  build();

  return {
    issuer,
    get jwksFetches() {
      return jwksFetches;
    },
    async token(clientId, options = {}) {
      const body = new URLSearchParams({
        grant_type: 'client_credentials',
        resource: options.resource ?? resources[0]!,
      });
      if (options.scope) {
        body.set('scope', options.scope);
      }
      const res = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`${clientId}:${SECRET}`).toString('base64')}` },
        body,
      });
      const json = (await res.json()) as { access_token?: string };
      if (res.status !== 200 || !json.access_token) {
        throw new Error(`token endpoint answered ${res.status}: ${JSON.stringify(json)}`);
      }
      return json.access_token;
    },
    async sign(claims, header = {}) {
      const key = keys[0]!;
      return new SignJWT(claims)
        .setProtectedHeader({ alg: ALG, kid: key.kid, typ: 'at+jwt', ...header })
        .sign(await importJWK(key, ALG));
    },
    publicKey: () => publicPart(keys[0]!),
    async rotateKey() {
      keys = [await newKey(), ...keys];
      build();
      return keys[0]!.kid!;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
