#!/usr/bin/env node
// The Cosmos DB-compatible server the tests (and a local run) use: @vercel/cosmosdb-server 1.0.1, pinned by
// package-lock.json, patched in memory for what Microsoft.Azure.Cosmos 3.x sends in Gateway mode and for the
// queries CosmosImStore runs. Nothing under node_modules is modified.
//
//   node cosmos-server.js [--port 8081] [--host 127.0.0.1] [--exit-with-stdin]
//
// Prints "cosmos-server ready at https://HOST:PORT/" once it listens (--port 0 takes a free port). With
// --exit-with-stdin it exits when its standard input closes, so it never outlives the test run that started it.
// The stock server's gaps, and what is done about them:
//   1. The SDK asks the gateway for a query plan before each query (the stock server runs the request as a query
//      and fails): answer with a pass-through plan, so the server itself runs ORDER BY and TOP. That is exact
//      here because there is one partition key range.
//   2. Queries ignore the x-ms-documentdb-partitionkey header and return every partition's items: filter them.
//   3. The stock query parser rejects OFFSET n LIMIT m: strip it from the query and apply it here.
//   4. A point read of a missing item answers 500 (a TypeError): answer 404.
//   5. Every response closes its connection: keep connections alive.
"use strict";
const path = require("path");
const rawBody = require("raw-body");
const lib = path.join(__dirname, "node_modules", "@vercel", "cosmosdb-server", "lib");
const load = file => require(path.join(lib, file));

const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const port = parseInt(option("--port", "8081"), 10);
const host = option("--host", "127.0.0.1");
const log = process.env.COSMOS_SERVER_LOG === "1";

/** The partition key value a request names, or undefined when it names none. */
function partitionKeyOf(req) {
  const header = req.headers["x-ms-documentdb-partitionkey"];
  if (!header || header === "[{}]" || header === "[]") return undefined;
  const value = JSON.parse(header);
  return Array.isArray(value) ? value[0] : value;
}

/** Splits a trailing "OFFSET n LIMIT m" (numbers or @parameters) off a query. */
function splitOffsetLimit(query, parameters) {
  const match = /\s+OFFSET\s+(@\w+|\d+)\s+LIMIT\s+(@\w+|\d+)\s*$/i.exec(query);
  if (!match) return { text: query };
  const value = token => (token.startsWith("@") ? parameters.find(p => p.name === token).value : parseInt(token, 10));
  return { text: query.slice(0, match.index), offset: value(match[1]), limit: value(match[2]) };
}

// 2 and 3: the query handler (replaced before routes.js is loaded, because the route table keeps the function).
const readItems = load("handler/_read-items.js").default;
const readJson = load("json.js").default;
load("handler/query-documents.js").default = (account, req, res, { dbId, collId }) =>
  readItems(req, res, "Documents", async ({ continuation, maxItemCount }) => {
    const { query, parameters = [] } = await readJson(req);
    const collection = account.database(dbId).collection(collId);
    if (!query || !collection.read()) return null;
    const documents = collection.documents;
    const pk = partitionKeyOf(req);
    const items = [...documents._data.values()].map(item => item.read())
      .filter(doc => pk === undefined || documents._getPartition(doc) === pk);
    const { text, offset, limit } = splitOffsetLimit(query, parameters);
    try {
      const compiled = documents._getQuery(text);
      if (offset === undefined) return compiled.exec(items, { parameters, maxItemCount, continuation });
      // OFFSET/LIMIT: run the rest of the query whole, cut the window, and page through it with our own token.
      const window = compiled.exec(items, { parameters }).result.slice(offset, offset + limit);
      const start = (continuation && continuation.skip) || 0;
      const end = maxItemCount > 0 ? start + maxItemCount : window.length;
      return { result: window.slice(start, end), continuation: end < window.length ? { skip: end } : null };
    } catch (err) {
      err.badRequest = true;
      throw err;
    }
  }).catch(err => {
    if (!err.badRequest) throw err;
    res.statusCode = 400;
    return { code: "BadRequest", message: err.message };
  });

// 4: 404 for a missing item.
const readDocument = load("handler/read-document.js");
const stockReadDocument = readDocument.default;
readDocument.default = (account, req, res, params) => {
  const collection = account.database(params.dbId).collection(params.collId);
  const pk = partitionKeyOf(req);
  if (collection.read() && !collection.document(params.docId, pk === undefined ? params.docId : pk).read()) {
    res.statusCode = 404;
    return { code: "NotFound", message: "Entity with the specified id does not exist in the system." };
  }
  return stockReadDocument(account, req, res, params);
};

// 1: the query plan. Everything runs on the server: no client-side ORDER BY, TOP, OFFSET or aggregates.
const passThroughPlan = JSON.stringify({
  partitionedQueryExecutionInfoVersion: 2,
  queryInfo: {
    distinctType: "None", top: null, offset: null, limit: null, orderBy: [], orderByExpressions: [],
    groupByExpressions: [], groupByAliases: [], aggregates: [], groupByAliasToAggregateType: {},
    rewrittenQuery: "", hasSelectValue: false, dCountInfo: null, hasNonStreamingOrderBy: false,
  },
  queryRanges: [{ min: "", max: "FF", isMinInclusive: true, isMaxInclusive: false }],
});

async function answerQueryPlan(req, res) {
  await rawBody(req);
  res.writeHead(200, { "content-type": "application/json", "x-ms-request-charge": "0", "x-ms-activity-id": require("crypto").randomUUID() });
  res.end(passThroughPlan);
}

const { createHttpsServer } = load("index.js");
const server = createHttpsServer({ keepAlive: true });   // 5
const [stockHandler] = server.listeners("request");
server.removeAllListeners("request");
server.on("request", (req, res) => {
  if (log) res.on("finish", () => console.log(`${req.method} ${req.url} -> ${res.statusCode}`));
  if (String(req.headers["x-ms-cosmos-is-query-plan-request"]).toLowerCase() === "true") {
    answerQueryPlan(req, res).catch(err => { res.statusCode = 500; res.end(JSON.stringify({ message: err.message })); });
    return;
  }
  stockHandler(req, res);
});

server.listen(port, host, () => {
  const { port: actual } = server.address();
  console.log(`cosmos-server ready at https://${host}:${actual}/`);
});

if (args.includes("--exit-with-stdin")) {
  process.stdin.on("end", () => process.exit(0)).on("error", () => process.exit(0)).resume();
}
