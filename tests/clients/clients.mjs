// The documented client set-ups of docs/clients.md, run against a live server: Apollo Client
// (InMemoryCache, persisted queries over GET), urql (its Accept, Graphcache), and graphql-ws (a
// subscription and its key's revocation). It reports what it saw as JSON lines on stdout; the
// pytest side (test_client_libraries.py) judges. It waits for a line on stdin once subscribed:
// that is when the test has revoked the key.
//
// Node 20 has no global WebSocket, so graphql-ws is handed the `ws` package's.
import { ApolloClient, HttpLink, InMemoryCache, gql, split } from '@apollo/client';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { getMainDefinition } from '@apollo/client/utilities';
import { Client, cacheExchange, fetchExchange, subscriptionExchange } from '@urql/core';
import { cacheExchange as graphcacheExchange } from '@urql/exchange-graphcache';
import { persistedExchange } from '@urql/exchange-persisted';
import { sha256 } from 'crypto-hash';
import { createClient } from 'graphql-ws';
import { createInterface } from 'node:readline';
import WebSocket from 'ws';

const { API_URL, WRITE_KEY, OPS_KEY } = process.env;
const WS_URL = API_URL.replace(/^http/, 'ws');

const WIZARD = `
query WizardQuestions($categories: [String!]!) {
  wizardQuestions(categories: $categories) {
    microId microUuid
    steps { id key title questionIds }
    questions { id key label type required options { value label } min max unit
                showIf { questionId values } allowNotSure help placeholder }
  }
}`;
const PAINTING = { categories: ['painting', 'interior', 'wall-painting'] };
const PAPERING = { categories: ['painting', 'wallpapering', 'wallpaper-hanging'] };
const PUBLISH = `
mutation Publish($input: PublishJobInput!) {
  publishJob(input: $input) { job { id status createdAt } }
}`;
const ANSWERS = {
  room_type: 'bedroom', wall_count: 4, wall_condition: 'good', paint_supplied: false,
  property_type: 'flat_apartment', floor_level: 'ground', parking: 'driveway',
  start_timing: 'flexible', budget_range: 'under_250',
};
const STATS = 'subscription { lookupStatsUpdated(windowMinutes: 60) { total avgLatencyMs } }';

function report(name, value) {
  process.stdout.write(JSON.stringify({ [name]: value }) + '\n');
}

// fetch that notes each exchange (method, query string, Accept, status, media type, ETag).
function recording(log) {
  return async (input, init = {}) => {
    const response = await fetch(input, init);
    const url = new URL(typeof input === 'string' ? input : input.url);
    log.push({
      method: init.method || 'GET',
      persisted: url.searchParams.has('extensions') || /persistedQuery/.test(init.body || ''),
      withQuery: url.searchParams.has('query') || /"query"/.test(init.body || ''),
      accept: new Headers(init.headers).get('accept'),
      status: response.status,
      contentType: response.headers.get('content-type'),
      etag: response.headers.get('etag'),
      url: url.href,
    });
    return response;
  };
}

function apolloClient(log) {
  // docs/clients.md's set-up, with the recording fetch and Node's WebSocket added.
  const http = new PersistedQueryLink({ sha256, useGETForHashedQueries: true }).concat(
    new HttpLink({
      uri: API_URL, headers: { Authorization: `Bearer ${WRITE_KEY}` }, fetch: recording(log),
    }),
  );
  const ws = new GraphQLWsLink(createClient({
    url: WS_URL,
    webSocketImpl: WebSocket,
    connectionParams: { Authorization: `Bearer ${WRITE_KEY}` },
    shouldRetry: (event) => !(event && event.code === 4403),
  }));
  return new ApolloClient({
    cache: new InMemoryCache(),
    link: split(({ query }) => getMainDefinition(query).operation === 'subscription', ws, http),
  });
}

async function apollo() {
  const log = [];
  const client = apolloClient(log);
  const query = gql(WIZARD);
  const painting = await client.query({ query, variables: PAINTING });
  const papering = await client.query({ query, variables: PAPERING });
  const before = log.length;
  const cached = client.readQuery({ query, variables: PAINTING });
  const again = await client.query({ query, variables: PAINTING });  // cache-first: no request
  const fromCache = log.length === before;
  // A second client (a new page, say) finds the document stored: the hash alone, over GET.
  const freshLog = [];
  const fresh = apolloClient(freshLog);
  const network = await fresh.query({ query, variables: PAINTING, fetchPolicy: 'network-only' });
  // What a browser does with the ETag it kept: ask again, conditionally, with the same headers
  // (the answer varies on Accept).
  const [{ url, etag, accept }] = freshLog;
  const revalidated = await fetch(url, {
    headers: { Authorization: `Bearer ${WRITE_KEY}`, Accept: accept, 'If-None-Match': etag },
  });
  report('apollo', {
    painting: painting.data, papering: papering.data, cached, again: again.data,
    network: network.data, fromCache, requests: log, freshRequests: freshLog,
    revalidated: revalidated.status,
  });

  const publish = gql(PUBLISH);
  const input = (extra) => ({
    microId: 'wall-painting', answers: ANSWERS, location: { postcode: 'SW1A 1AA' },
    idempotencyKey: `apollo-${Date.now()}`, customerRef: 'c-1', ...extra,
  });
  const first = input({});
  const once = await client.mutate({ mutation: publish, variables: { input: first } });
  const twice = await client.mutate({ mutation: publish, variables: { input: first } });
  const other = await client.mutate({
    mutation: publish, variables: { input: { ...first, customerRef: 'c-2' } }, errorPolicy: 'all',
  });
  report('apolloPublish', {
    first: once.data.publishJob.job, retry: twice.data.publishJob.job,
    reused: other.error ? other.error.errors.map((e) => e.extensions) : null,
  });
}

async function urql() {
  const log = [];
  const ws = createClient({
    url: WS_URL, webSocketImpl: WebSocket, connectionParams: { Authorization: `Bearer ${WRITE_KEY}` },
  });
  const make = (cache) => new Client({
    url: API_URL,
    fetch: recording(log),
    fetchOptions: { headers: { Authorization: `Bearer ${WRITE_KEY}` } },
    preferGetMethod: 'within-url-limit',
    exchanges: [
      cache,
      persistedExchange({ preferGetForPersistedQueries: true }),
      fetchExchange,
      subscriptionExchange({
        forwardSubscription: (request) => ({
          subscribe: (sink) => ({ unsubscribe: ws.subscribe({ ...request, query: request.query || '' }, sink) }),
        }),
      }),
    ],
  });
  const client = make(cacheExchange);
  const wizard = await client.query(WIZARD, PAINTING).toPromise();
  const wrong = await client.query('query Wrong { noSuchField }', {}).toPromise();
  // The first push, then stop (toPromise would wait for a last result: a subscription has none).
  const pushed = await new Promise((resolve) => {
    const { unsubscribe } = client.subscription(STATS, {}).subscribe((result) => {
      setImmediate(() => unsubscribe());
      resolve(result);
    });
  });
  // Graphcache keys objects by `id` alone; the types without one are kept in their parents
  // (GRAPHCACHE_EMBEDDED is docs/clients.md's list). The second service must not overwrite the
  // first one's questions, and Graphcache must have nothing to warn about.
  const warnings = [];
  const warn = console.warn;
  console.warn = (...args) => warnings.push(args.join(' '));
  const embedded = JSON.parse(process.env.GRAPHCACHE_EMBEDDED);
  const keys = Object.fromEntries(embedded.map((type) => [type, () => null]));
  const normalised = make(graphcacheExchange({ keys }));
  const painting = await normalised.query(WIZARD, PAINTING).toPromise();
  await normalised.query(WIZARD, PAPERING).toPromise();
  const cached = await normalised.query(WIZARD, PAINTING, { requestPolicy: 'cache-only' }).toPromise();
  console.warn = warn;
  report('urql', {
    wizard: wizard.data, wizardError: wizard.error ? wizard.error.message : null,
    wrong: wrong.error ? wrong.error.graphQLErrors.map((e) => e.extensions) : null,
    pushed: pushed.data || pushed.error.message,
    graphcache: { painting: painting.data, cached: cached.data, warnings },
    requests: log,
  });
  await ws.dispose();
}

async function subscription() {
  const lines = createInterface({ input: process.stdin });
  const revoked = new Promise((resolve) => lines.once('line', () => resolve(Date.now())));
  let connecting = 0;
  const client = createClient({
    url: WS_URL,
    webSocketImpl: WebSocket,
    connectionParams: { Authorization: `Bearer ${OPS_KEY}` },
    // As docs/clients.md says: give up on 4403 rather than be refused again five times.
    shouldRetry: (event) => !(event && event.code === 4403),
    on: { connecting: () => { connecting += 1; } },
  });
  const pushes = [];
  let subscribed;
  const firstPush = new Promise((resolve) => { subscribed = resolve; });
  const ended = new Promise((resolve) => {
    client.subscribe({ query: STATS }, {
      next: (result) => { pushes.push(result); subscribed(); },
      error: (error) => resolve({ at: Date.now(), code: error && error.code, reason: error && error.reason }),
      complete: () => resolve({ at: Date.now(), code: null, complete: true }),
    });
  });
  await firstPush;
  report('subscribed', { first: pushes[0] });
  const revokedAt = await revoked;
  const end = await ended;
  // A retry would show as a second `connecting`: wait a little for one that should not come.
  await new Promise((resolve) => setTimeout(resolve, 300));
  report('subscription', {
    code: end.code, reason: end.reason, complete: end.complete || false,
    closedAfterMs: end.at - revokedAt, connecting, pushes: pushes.length,
  });
  lines.close();
  await client.dispose();
}

await apollo();
await urql();
await subscription();
