// A relying party built on openid-client (a certified OpenID Connect
// library), for crates/server/tests/oidc.rs. It listens on 127.0.0.1:PORT:
//   /start      builds the authorization request (PKCE S256, state, nonce)
//               and sends the browser to the provider;
//   /callback   the first time: exchanges the code (the library checks the
//               ID token's signature against the provider's JWK Set, its
//               issuer, audience, nonce and expiry, and the `iss` response
//               parameter), calls userinfo, refreshes, presents the old
//               refresh token again and then the new one; the second time:
//               exchanges the code and revokes the refresh token;
//   /signed-out where RP-initiated logout sends the browser back.
// Each page shows what happened as JSON in <pre id="result">.
import http from 'node:http';
import * as client from 'openid-client';

const { ISSUER, CLIENT_ID, CLIENT_SECRET, PORT } = process.env;
// localhost, while the provider is 127.0.0.1: another site, as a real
// application is, so the portal's SameSite=Strict cookies stay behind on
// the way in.
const base = `http://localhost:${PORT}`;
const redirectUri = `${base}/callback`;

const config = await client.discovery(
  new URL(ISSUER),
  CLIENT_ID,
  undefined,
  client.ClientSecretBasic(CLIENT_SECRET),
  { execute: [client.allowInsecureRequests] },
);
// Verify ID tokens' signatures against jwks_uri, not only TLS trust.
client.enableNonRepudiationChecks(config);

let pending = null;
let callbacks = 0;

const escape = (text) => String(text).replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]);
const failure = async (promise) => {
  try {
    await promise;
    return 'accepted';
  } catch (e) {
    return e.error ?? e.code ?? String(e);
  }
};

async function firstCallback(url) {
  const tokens = await client.authorizationCodeGrant(config, url, {
    pkceCodeVerifier: pending.verifier,
    expectedState: pending.state,
    expectedNonce: pending.nonce,
    idTokenExpected: true,
  });
  const claims = tokens.claims();
  const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
  const rotated = refreshed.refresh_token !== tokens.refresh_token;
  const refreshedClaims = refreshed.claims();
  const reuse = await failure(client.refreshTokenGrant(config, tokens.refresh_token));
  const afterReuse = await failure(client.refreshTokenGrant(config, refreshed.refresh_token));
  const userinfoAfterReuse = await failure(
    client.fetchUserInfo(config, refreshed.access_token, claims.sub),
  );
  return { claims, userinfo, rotated, refreshedSub: refreshedClaims?.sub, reuse, afterReuse, userinfoAfterReuse };
}

async function secondCallback(url) {
  const tokens = await client.authorizationCodeGrant(config, url, {
    pkceCodeVerifier: pending.verifier,
    expectedState: pending.state,
    expectedNonce: pending.nonce,
    idTokenExpected: true,
  });
  await client.tokenRevocation(config, tokens.refresh_token);
  const refreshAfterRevoke = await failure(client.refreshTokenGrant(config, tokens.refresh_token));
  const userinfoAfterRevoke = await failure(
    client.fetchUserInfo(config, tokens.access_token, tokens.claims().sub),
  );
  const logout = client.buildEndSessionUrl(config, {
    id_token_hint: tokens.id_token,
    post_logout_redirect_uri: `${base}/signed-out`,
    state: 'bye',
  });
  return { refreshAfterRevoke, userinfoAfterRevoke, logout: logout.href };
}

http
  .createServer(async (req, res) => {
    const url = new URL(req.url, base);
    try {
      if (url.pathname === '/start') {
        const verifier = client.randomPKCECodeVerifier();
        pending = { verifier, state: client.randomState(), nonce: client.randomNonce() };
        const to = client.buildAuthorizationUrl(config, {
          redirect_uri: redirectUri,
          scope: 'openid profile email',
          code_challenge: await client.calculatePKCECodeChallenge(verifier),
          code_challenge_method: 'S256',
          state: pending.state,
          nonce: pending.nonce,
        });
        res.writeHead(302, { location: to.href });
        res.end();
        return;
      }
      let result;
      if (url.pathname === '/callback') {
        callbacks += 1;
        result = callbacks === 1 ? await firstCallback(url) : await secondCallback(url);
      } else if (url.pathname === '/signed-out') {
        result = { state: url.searchParams.get('state') };
      } else {
        res.writeHead(404);
        res.end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<!doctype html><title>RP</title><pre id="result">${escape(JSON.stringify(result))}</pre>`);
    } catch (e) {
      res.writeHead(500, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<!doctype html><title>RP error</title><pre id="error">${escape(e.stack ?? e)}\n${escape(JSON.stringify(e.cause ?? null))}</pre>`);
    }
  })
  .listen(Number(PORT), '127.0.0.1', () => console.log('listening'));
