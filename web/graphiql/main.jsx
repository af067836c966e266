// GraphiQL served by the API itself: React, GraphiQL, Monaco and its workers are bundled by
// web/build.mjs from the pinned npm packages, so the page loads nothing from another host.
import 'graphiql/style.css';
import '@graphiql/plugin-explorer/style.css';

import { explorerPlugin } from '@graphiql/plugin-explorer';
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import { GraphiQL } from 'graphiql';
import { createRoot } from 'react-dom/client';

// Monaco runs its language services in web workers; the stock setups either point at a CDN
// (esm.sh) or need a bundler's worker syntax, so point it at the workers we built ourselves.
const WORKERS = '/static/build/';
globalThis.MonacoEnvironment = {
  getWorker(_workerId, label) {
    switch (label) {
      case 'json':
        return new Worker(`${WORKERS}json.worker.js`);
      case 'graphql':
        return new Worker(`${WORKERS}graphql.worker.js`);
      default:
        return new Worker(`${WORKERS}editor.worker.js`);
    }
  },
};

// The server renders the example document into the page (see api/graphiql.py).
const defaults = JSON.parse(document.getElementById('graphiql-defaults').textContent);
const fetcher = createGraphiQLFetcher({ url: defaults.endpoint });
const plugins = [explorerPlugin()];
// How the variables editor checks this API's custom scalars; without it every `answers`
// object (a JSON scalar) is flagged as an error.
const customScalarSchemas = {
  JSON: {},
  UUID: { type: 'string', format: 'uuid' },
  DateTime: { type: 'string', format: 'date-time' },
};

// First visit: open on the example with its variables and headers. Later visits: GraphiQL
// restores the visitor's own tabs. (`defaultTabs` would be the obvious prop, but GraphiQL 5
// takes only the query from it and leaves the variables editor empty.)
const firstVisit = window.localStorage.getItem('graphiql:tabState') === null;
const initial = firstVisit
  ? {
      initialQuery: defaults.query,
      initialVariables: defaults.variables,
      initialHeaders: defaults.headers,
    }
  : {};

createRoot(document.getElementById('graphiql')).render(
  <GraphiQL
    fetcher={fetcher}
    plugins={plugins}
    customScalarSchemas={customScalarSchemas}
    defaultQuery={defaults.query}
    {...initial}
    defaultEditorToolsVisibility="variables"
    isHeadersEditorEnabled
    shouldPersistHeaders={false}
  />,
);
