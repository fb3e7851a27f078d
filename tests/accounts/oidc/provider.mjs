// A real OpenID Connect provider for tests/accounts/test_oidc_end_to_end.py: node's
// oidc-provider with its development log-in and consent pages, one confidential client
// and one account. Configured by environment (OIDC_CLIENT_ID, OIDC_CLIENT_SECRET,
// OIDC_REDIRECT_URI, OIDC_ACCOUNT as JSON claims with "sub"); listens on 127.0.0.1 on a
// port the system picks and prints {"issuer": ...} on one line once it answers.
import http from "node:http";

import Provider from "oidc-provider";

const account = JSON.parse(process.env.OIDC_ACCOUNT);

const server = http.createServer();
server.listen(0, "127.0.0.1", () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: process.env.OIDC_CLIENT_ID,
        client_secret: process.env.OIDC_CLIENT_SECRET,
        redirect_uris: [process.env.OIDC_REDIRECT_URI],
        grant_types: ["authorization_code"],
        response_types: ["code"],
        token_endpoint_auth_method: "client_secret_post",
      },
    ],
    // The portal asks for "address" and reads the municipality's OKTMO code from it
    // (portal/accounts/identity.py), as Gosuslugi gives the registration address's.
    claims: {
      openid: ["sub"],
      email: ["email", "email_verified"],
      profile: ["name", "family_name", "given_name", "birthdate"],
      address: ["address", "oktmo"],
    },
    // Whatever login is typed on the development page, it is the one account.
    async findAccount(ctx, sub) {
      return {
        accountId: sub,
        async claims() {
          return { ...account, sub };
        },
      };
    },
    features: { devInteractions: { enabled: true } },
  });
  provider.on("server_error", (ctx, error) => console.error("server_error", error));
  server.on("request", provider.callback());
  console.log(JSON.stringify({ issuer }));
});

// The test stops it with SIGTERM; exit promptly rather than wait for open connections.
process.on("SIGTERM", () => process.exit(0));
