/*
 * 信用盐城 search tokenizer, specification v2 — the JavaScript twin of generator/search.py.
 * Both must give identical tokens for the shared vectors in tests/search_vectors.json.
 *
 *   fold(text)   NFKC, then lower case
 *   runs(text)   maximal runs of Han characters, or of ASCII letters/digits; all else separates
 *   tokenize     a Han run of one character is itself; longer Han runs give every bigram;
 *                an ASCII run is one token; order and duplicates kept
 *   queryTerms   the same tokens without duplicates, each marked `prefix` when it is a lone Han
 *                character or an ASCII run of 6–17 characters (the start of a credit code or of its part)
 *   core(run)    a Han run without the administrative words ADMIN_WORDS (itself when fewer than
 *                two characters would be left); coreRuns / coreTerms: runs and terms of the cores
 *   align        how a query's characters occur in a name in order (the in-order ranking rule)
 */
(function (root, factory) {
  if (typeof module === "object" && module.exports) { module.exports = factory(); }
  else { root.XyycTokenizer = factory(); }
})(typeof self !== "undefined" ? self : this, function () {
  "use strict";
  var RUN = /[\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[a-z0-9]+/g;
  var HAN = /^[\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]/;
  var VERSION = 2;
  var ADMIN_WORDS = ["有限责任公司", "股份有限公司", "有限公司", "分公司", "江苏省", "盐城市", "盐城", "股份", "省", "市", "县", "区"];
  var ADMIN = new RegExp(ADMIN_WORDS.join("|"), "g");
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
        terms.push({ token: token, prefix: (han && run.length === 1) || (!han && run.length >= 6 && run.length < 18) });
      });
    });
    return terms;
  }

  function core(run) {
    var stripped = run.replace(ADMIN, "");
    return Array.from(stripped).length >= 2 ? stripped : run;
  }

  function coreRuns(text) { return runs(text).map(function (run) { return HAN.test(run) ? core(run) : run; }); }

  function coreTerms(text) { return queryTerms(coreRuns(text).join(" ")); }

  /* [misses, gaps, gap length, start, end] of the best in-order placement of query's characters
     in name (fewest misses, then gaps, then gap length, then leftmost), or null (see align in
     generator/search.py). Positions count characters (code points). */
  function align(query, name, maxMiss) {
    var q = Array.from(query), n = Array.from(name), where = {};
    n.forEach(function (c, i) { (where[c] = where[c] || []).push(i); });
    var states = { "-1,0": [-1, 0, 0, 0, -1] };  // key last,misses → [last, misses, gaps, length, start]
    function better(a, b) { return a[2] - b[2] || a[3] - b[3] || a[4] - b[4]; }
    q.forEach(function (c) {
      var next = {};
      function offer(s) { var k = s[0] + "," + s[1]; if (!next[k] || better(s, next[k]) < 0) { next[k] = s; } }
      Object.keys(states).forEach(function (k) {
        var s = states[k];
        if (s[1] < (maxMiss || 0)) { offer([s[0], s[1] + 1, s[2], s[3], s[4]]); }
        (where[c] || []).forEach(function (p) {
          if (p <= s[0]) { return; }
          var gap = s[0] < 0 ? 0 : p - s[0] - 1;
          offer([p, s[1], s[2] + (gap > 0 ? 1 : 0), s[3] + gap, s[4] < 0 ? p : s[4]]);
        });
      });
      states = next;
    });
    var best = null;
    Object.keys(states).forEach(function (k) {
      var s = states[k];
      if (s[0] < 0 || q.length - s[1] < 2) { return; }
      var r = [s[1], s[2], s[3], s[4], s[0] + 1];
      if (!best || compare(r, best) < 0) { best = r; }
    });
    return best;
  }

  function compare(a, b) {
    for (var i = 0; i < a.length; i++) { if (a[i] !== b[i]) { return a[i] < b[i] ? -1 : 1; } }
    return 0;
  }

  /* The lunr pipeline function registered under the same name on both sides (tokens arrive folded). */
  function foldToken(token) { return token; }

  return {
    VERSION: VERSION, FOLD_NAME: FOLD_NAME, ADMIN_WORDS: ADMIN_WORDS, fold: fold, runs: runs, tokenize: tokenize,
    queryTerms: queryTerms, core: core, coreRuns: coreRuns, coreTerms: coreTerms, align: align, foldToken: foldToken
  };
});
