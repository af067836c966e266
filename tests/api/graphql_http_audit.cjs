// Runs graphql-http's auditServer (the GraphQL over HTTP spec's audit suite) against the URL in
// argv[2] and prints the results as one JSON array. The package comes from GRAPHQL_HTTP_MODULES
// (the git-ignored node_modules that `make` fills).
const path = require("path");
const { auditServer } = require(path.join(process.env.GRAPHQL_HTTP_MODULES, "graphql-http"));

(async () => {
  const results = await auditServer({ url: process.argv[2] });
  const report = [];
  for (const result of results) {
    const entry = { id: result.id, name: result.name, status: result.status };
    if (result.status !== "ok") {
      entry.reason = result.reason;
      entry.httpStatus = result.response.status;
      entry.body = await result.response.text().catch(() => "");
    }
    report.push(entry);
  }
  console.log(JSON.stringify(report));
})().catch((error) => {
  console.error(error);
  process.exit(2);
});
