/*
 * 信用盐城 search tokenizer, specification v1 — the JavaScript twin of generator/search.py.
 * Both must give identical tokens for the shared vectors in tests/search_vectors.json.
 *
 *   fold(text)   NFKC, then lower case
 *   runs(text)   maximal runs of Han characters, or of ASCII letters/digits; all else separates
 *   tokenize     a Han run of one character is itself; longer Han runs give every bigram;
 *                an ASCII run is one token; order and duplicates kept
 *   queryTerms   the same tokens without duplicates, each marked `prefix` when it is a lone Han
 *                character or an ASCII run of 8–17 characters (the start of a credit code)
 */
(function (root, factory) {
  if (typeof module === "object" && module.exports) { module.exports = factory(); }
  else { root.XyycTokenizer = factory(); }
})(typeof self !== "undefined" ? self : this, function () {
  "use strict";
  var RUN = /[\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[a-z0-9]+/g;
  var HAN = /^[\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]/;
  var VERSION = 1;
  var FOLD_NAME = "xyycFold";

  function fold(text) { return String(text).normalize("NFKC").toLowerCase(); }

  function runs(text) { return fold(text).match(RUN) || []; }

  function pieces(run) {
    if (HAN.test(run) && run.length > 1) {
      var out = [];
      for (var i = 0; i < run.length - 1; i++) { out.push(run.slice(i, i + 2)); }
      return out;
    }
    return [run];
  }

  function tokenize(text) {
    var tokens = [];
    runs(text).forEach(function (run) { tokens.push.apply(tokens, pieces(run)); });
    return tokens;
  }

  function queryTerms(text) {
    var terms = [], seen = {};
    runs(text).forEach(function (run) {
      var han = HAN.test(run);
      pieces(run).forEach(function (token) {
        if (Object.prototype.hasOwnProperty.call(seen, token)) { return; }
        seen[token] = true;
        terms.push({ token: token, prefix: (han && run.length === 1) || (!han && run.length >= 8 && run.length < 18) });
      });
    });
    return terms;
  }

  /* The lunr pipeline function registered under the same name on both sides (tokens arrive folded). */
  function foldToken(token) { return token; }

  return { VERSION: VERSION, FOLD_NAME: FOLD_NAME, fold: fold, runs: runs, tokenize: tokenize, queryTerms: queryTerms, foldToken: foldToken };
});
