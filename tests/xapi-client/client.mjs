// A stock xAPI client (@xapi/xapi) against the ledger's /xapi: reads /about, posts one
// "attended" statement, and reads it back through the query form, following `more`.
// Settings come from the environment; the outcome is printed as one JSON object.
import XAPI from "@xapi/xapi";

const need = (name) => {
  const value = process.env[name];
  if (!value) {
    console.error(`${name} is not set`);
    process.exit(2);
  }
  return value;
};

const endpoint = need("XAPI_ENDPOINT");
const mbox = `mailto:${need("XAPI_EMAIL")}`;
const activity = need("XAPI_ACTIVITY");
const attended = "http://adlnet.gov/expapi/verbs/attended";

const xapi = new XAPI({
  endpoint,
  auth: XAPI.toBasicAuth(need("XAPI_KEY"), need("XAPI_SECRET")),
});

const about = await xapi.getAbout();
const sent = await xapi.sendStatement({
  statement: {
    actor: { objectType: "Agent", name: "Course attendee", mbox },
    verb: { id: attended, display: { "en-US": "attended" } },
    object: {
      objectType: "Activity",
      id: activity,
      definition: { name: { en: "Incident response" } },
    },
    result: { completion: true, duration: "PT8H" },
    timestamp: need("XAPI_TIMESTAMP"),
  },
});

// One statement per page, so reading everything back needs `more`.
const read = [];
let page = await xapi.getStatements({ agent: { mbox }, verb: attended, limit: 1 });
let pages = 1;
read.push(...page.data.statements.map((s) => s.id));
while (page.data.more) {
  page = await xapi.getMoreStatements({ more: page.data.more });
  pages += 1;
  read.push(...page.data.statements.map((s) => s.id));
}

console.log(
  JSON.stringify({
    versions: about.data.version,
    sent: sent.data,
    read,
    pages,
    consistentThrough: page.headers["x-experience-api-consistent-through"] ?? null,
  }),
);
