// Bundles GraphiQL (web/graphiql/main.jsx), Monaco's workers and /post's sign-in
// (web/auth/main.js, oidc-client-ts) into web/dist/, which the server mounts at /static/build/. Run by `make assets` after `npm ci`; the output is
// git-ignored and rebuilt whenever package-lock.json or the sources change.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const outdir = path.join(here, 'dist');

const common = {
  bundle: true,
  minify: true,
  legalComments: 'linked',
  logLevel: 'warning',
  target: 'es2020',
  define: { 'process.env.NODE_ENV': '"production"' },
};

await build({
  ...common,
  entryPoints: { graphiql: path.join(here, 'graphiql', 'main.jsx') },
  outdir,
  format: 'esm',
  jsx: 'automatic',
  // Monaco's CSS references its codicon font; keep any such file next to the bundle.
  loader: { '.ttf': 'file', '.woff': 'file', '.woff2': 'file' },
});

await build({
  ...common,
  entryPoints: {
    'editor.worker': 'monaco-editor/esm/vs/editor/editor.worker.js',
    'json.worker': 'monaco-editor/esm/vs/language/json/json.worker.js',
    'graphql.worker': 'monaco-graphql/esm/graphql.worker.js',
  },
  outdir,
  format: 'iife',
});

// A classic script, not a module: /post's other scripts are plain files that read
// window.PostAuth, and `defer` keeps them in order.
await build({
  ...common,
  entryPoints: { auth: path.join(here, 'auth', 'main.js') },
  outdir,
  format: 'iife',
});
