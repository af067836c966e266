// PostGraphile as N Node processes sharing one port (node:cluster), for the scale-out rows of
// `make bench` (BENCH_SCALEOUT=1): its CLI has no cluster mode of its own.
//   node cluster.mjs N path/to/postgraphile/dist/cli-run.js [postgraphile options...]
import cluster from "node:cluster";
import { pathToFileURL } from "node:url";

const [node, , count, cli, ...options] = process.argv;
if (cluster.isPrimary) {
  for (let i = 0; i < Number(count); i++) cluster.fork();
  const stop = () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill("SIGTERM");
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
} else {
  process.argv = [node, cli, ...options];
  await import(pathToFileURL(cli).href);
}
