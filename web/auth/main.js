// The customer's sign-in for /post: the OpenID Connect authorization-code flow with PKCE,
// done by oidc-client-ts (bundled into web/dist/auth.js by web/build.mjs, served from
// /static/build/ like GraphiQL: nothing comes from a CDN).
//
//   await PostAuth.start()    reads GET /auth/config, finishes a sign-in the provider has just
//                             redirected back from, and answers the signed-in user or null
//   PostAuth.signIn(state)    leaves for the provider's sign-in page; `state` comes back in
//                             `PostAuth.returnedState` once the customer is back on /post
//   PostAuth.signOut()        forgets the session in this tab
//   await PostAuth.accessToken()  the token for `Authorization: Bearer`, refreshed when it has
//                             expired and a refresh token allows it, or '' when signed out
//   PostAuth.who()            what the page shows of the customer: their email, else `sub`
//
// The tokens live in sessionStorage: they survive a reload of the tab, not its closing, and
// no other tab sees them. The page is a public client: there is no secret to keep.
import { UserManager, WebStorageStateStore } from 'oidc-client-ts';

const state = {
  config: null, // GET /auth/config's answer
  manager: null, // the UserManager, once an issuer is configured
  user: null,
  returnedState: null,
  problem: '', // why sign-in is unavailable or failed, in words for the page
};

function redirectUri() {
  return `${window.location.origin}/post`;
}

async function readConfig() {
  const response = await fetch('/auth/config', { headers: { Accept: 'application/json' } });
  if (!response.ok) throw new Error(`GET /auth/config answered ${response.status}`);
  return response.json();
}

function managerFor(config) {
  const store = new WebStorageStateStore({ store: window.sessionStorage });
  return new UserManager({
    authority: config.issuer,
    client_id: config.clientId,
    redirect_uri: redirectUri(),
    post_logout_redirect_uri: redirectUri(),
    response_type: 'code',
    scope: config.scope,
    userStore: store,
    stateStore: store,
    // The profile claims of the ID token are enough to show who is signed in; the userinfo
    // endpoint would be one more cross-origin call for nothing the page needs.
    loadUserInfo: false,
    // Renewal happens on demand (accessToken()), with the refresh token only: a hidden iframe
    // would need a second redirect page and a wider content-security policy.
    automaticSilentRenew: false,
  });
}

/** True when this load of /post is the provider's redirect back with a code (or an error). */
function isCallback() {
  const params = new URLSearchParams(window.location.search);
  return params.has('state') && (params.has('code') || params.has('error'));
}

function dropCallbackParameters() {
  window.history.replaceState(window.history.state, '', window.location.pathname);
}

async function start() {
  try {
    state.config = await readConfig();
  } catch (err) {
    state.problem = 'Sign-in is not available: the server did not say which provider to use.';
    return null;
  }
  if (!state.config.issuer) {
    state.problem = 'Sign-in is not configured on this server; an API key still works.';
    return null;
  }
  state.manager = managerFor(state.config);
  if (isCallback()) {
    try {
      const user = await state.manager.signinRedirectCallback();
      state.returnedState = user.state || null;
    } catch (err) {
      state.problem = `Signing in did not finish (${err.message}). Try again.`;
    }
    dropCallbackParameters();
  }
  const user = await state.manager.getUser();
  // An expired session counts while its refresh token can renew it (accessToken() does).
  state.user = user && (!user.expired || user.refresh_token) ? user : null;
  return state.user;
}

async function signIn(returnState) {
  if (!state.manager) throw new Error(state.problem || 'Sign-in is not available.');
  await state.manager.signinRedirect({ state: returnState });
}

async function signOut() {
  state.user = null;
  if (state.manager) await state.manager.removeUser();
}

async function accessToken() {
  const user = state.user;
  if (!user) return '';
  if (!user.expired) return user.access_token;
  if (user.refresh_token) {
    try {
      state.user = await state.manager.signinSilent();
      return state.user ? state.user.access_token : '';
    } catch {
      // The refresh token is spent or revoked: the customer signs in again.
    }
  }
  await signOut();
  return '';
}

function who() {
  if (!state.user) return '';
  const profile = state.user.profile || {};
  return profile.email || profile.preferred_username || profile.sub || '';
}

/** The ID token's name and email, for prefilling the contact details. */
function profile() {
  const claims = (state.user && state.user.profile) || {};
  return { name: claims.name || '', email: claims.email || '' };
}

window.PostAuth = {
  start,
  signIn,
  signOut,
  accessToken,
  who,
  profile,
  get signedIn() {
    return state.user !== null;
  },
  get available() {
    return state.manager !== null;
  },
  get problem() {
    return state.problem;
  },
  get returnedState() {
    return state.returnedState;
  },
  get development() {
    return Boolean(state.config && state.config.development);
  },
};
