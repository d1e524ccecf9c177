// The JavaScript tokenizer against the shared vectors (run by tests/test_search.py via `node --test`).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const here = new URL(".", import.meta.url);
const T = require(new URL("../../theme/static/js/tokenizer.js", here).pathname);
const { vectors, align } = JSON.parse(readFileSync(new URL("../search_vectors.json", here), "utf8"));

test("vectors are not empty", () => assert.ok(vectors.length >= 20));

for (const v of vectors) {
  test(`tokens of ${JSON.stringify(v.text)}`, () => {
    assert.deepEqual(T.tokenize(v.text), v.tokens);
    assert.deepEqual(T.queryTerms(v.text), v.query);
    assert.deepEqual(T.coreTerms(v.text), v.core);
  });
}

for (const c of align) {
  test(`in-order alignment of ${c.query} in ${c.name}`, () => {
    assert.deepEqual(T.align(c.query, c.name, c.maxMiss), c.expected);
  });
}

test("the pipeline function name matches the Python side", () => assert.equal(T.FOLD_NAME, "xyycFold"));
