/*
 * 信用盐城 client-side search (no server). Reads ?q= and filters from the URL, searches as the user
 * types, and renders into #results. Downloads only: the manifests, in each segment the shard of
 * each query token, and the display buckets of the results it shows. Design and numbers:
 * docs/search.md. A result is "<segment number>:<ref>" (ref = kind letter + base-36 position).
 * Every value from the index is inserted with textContent, never as HTML.
 */
(function () {
  "use strict";
  var T = window.XyycTokenizer;
  var PAGE = 20, SCAN_LIMIT = 400, RELAXED_SCAN = 80, RELAXED_BATCH = 24, RELAXED_TERMS = 4, SUGGEST_TRIES = 3, SUGGEST_VARIANTS = 40, SUGGESTIONS = 3, MAX_TERMS = 3, DEBOUNCE_MS = 250;
  var ADMIN_CHARS = T.ADMIN_WORDS.join("");
  var HAN_START = /^[\u3007\u3400-\u9fff\uf900-\ufaff]/;
  var BRACKETS = /[〔〕\[\]()（）【】［］﹝﹞<>《》{}｛｝]/g;  /* as _BRACKETS in generator/search.py */
  var cache = { manifest: null, shards: {}, docs: {}, authorities: null, homophones: null };
  var state = { q: "", kind: "", year: "", auth: "", sort: "rel", page: 1 };
  var runId = 0, timer = null;
  var $ = function (id) { return document.getElementById(id); };

  lunr.Pipeline.registerFunction(T.foldToken, T.FOLD_NAME);

  function plainJSON(url) {
    return fetch(url).then(function (r) {
      if (!r.ok) { throw new Error(url + ": " + r.status); }
      return r.json();
    });
  }
  /* Every search file has a gzip twin (generator/search.py _write_text): fetched and inflated here
     where the browser can, so a query moves a quarter of the bytes from any static server. A server
     that labels .gz files Content-Encoding: gzip has had them inflated already; on any failure the
     file itself is fetched. */
  function getJSON(url) {
    if (typeof DecompressionStream === "undefined") { return plainJSON(url); }
    return fetch(url + ".gz").then(function (r) {
      if (!r.ok) { throw new Error(url + ".gz: " + r.status); }
      if (/gzip/.test(r.headers.get("Content-Encoding") || "")) { return r.json(); }
      return new Response(r.body.pipeThrough(new DecompressionStream("gzip"))).json();
    }).catch(function () { return plainJSON(url); });
  }
  /* The top manifest with each segment's manifest as .segs[i] (with .path). */
  function manifest() {
    return cache.manifest || (cache.manifest = getJSON("manifest.json").then(function (m) {
      return Promise.all(m.segments.map(function (s) { return getJSON(s[0] + "/manifest.json"); })).then(function (segs) {
        segs.forEach(function (seg, i) { seg.path = m.segments[i][0]; });
        m.segs = segs;
        return m;
      });
    }));
  }
  function shard(seg, n) {
    var key = seg.path + "/" + n;
    return cache.shards[key] || (cache.shards[key] = getJSON(seg.path + "/shards/" + n + ".json").then(function (d) { return lunr.Index.load(d); }));
  }
  function bucket(seg, n) {
    var key = seg.path + "/" + n;
    return cache.docs[key] || (cache.docs[key] = getJSON(seg.path + "/docs/" + n + ".json"));
  }
  function authorities() {
    return cache.authorities || (cache.authorities = getJSON("authorities.json").then(function (d) {
      return { index: lunr.Index.load(d.index), list: d.list };
    }));
  }

  /* Binary search over the first token of each shard (code-unit order, as sorted at build time). */
  function shardFor(firsts, token) {
    var lo = 0, hi = firsts.length;
    while (lo < hi) { var mid = (lo + hi) >> 1; if (firsts[mid] <= token) { lo = mid + 1; } else { hi = mid; } }
    return Math.max(0, lo - 1);
  }

  function termScores(index, term) {
    var wildcard = term.prefix ? lunr.Query.wildcard.TRAILING : lunr.Query.wildcard.NONE;
    return index.query(function (q) { q.term(term.token, { usePipeline: false, wildcard: wildcard }); });
  }

  /* Candidates "<segment>:<ref>" with summed lunr scores: those matching every usable term
     (need null), or at least `need` of them (the in-order search). hits: terms matched. */
  function candidates(m, terms, need) {
    return Promise.all(m.segs.map(function (seg) { return termMaps(m, seg, terms, need !== null); })).then(function (found) {
      var scores = {}, hits = {}, partial = false, present = {};
      found.forEach(function (f, i) {
        partial = partial || f.partial;
        var counts = {}, sums = {};
        var bonus = {};
        f.maps.forEach(function (map, t) {
          var refs = Object.keys(map), capped = f.capped[t];
          if (refs.length) { present[f.usable[t].token] = true; }
          refs.forEach(function (ref) {
            if (capped) { bonus[ref] = (bonus[ref] || 0) + 1; return; }
            counts[ref] = (counts[ref] || 0) + 1;
            sums[ref] = (sums[ref] || 0) + map[ref];
          });
        });
        var usable = f.capped.filter(function (c) { return !c; }).length;
        var required = need === null ? usable : Math.min(need(usable), usable);
        Object.keys(counts).forEach(function (ref) {
          if (counts[ref] >= required) { scores[i + ":" + ref] = sums[ref]; hits[i + ":" + ref] = counts[ref] + (bonus[ref] || 0); }
        });
      });
      return { scores: scores, hits: hits, partial: partial, present: present };
    });
  }

  /* One segment: a score map per usable term (capped terms dropped while another remains; with
     `withCapped`, kept and marked: their newest postings rank candidates, they never exclude one). */
  function termMaps(m, seg, terms, withCapped) {
    function isCapped(t) { return Object.prototype.hasOwnProperty.call(seg.capped, t.token); }
    var usable = terms.filter(function (t) { return !isCapped(t); });
    var partial = false, capped;
    if (!usable.length) { usable = terms; partial = terms.length > 0; capped = terms.map(function () { return false; }); }
    else if (withCapped) { usable = terms; capped = terms.map(isCapped); }
    else { capped = usable.map(function () { return false; }); }
    return Promise.all(usable.map(function (term) {
      var wanted = [];
      shardsOf(m, seg, term).forEach(function (n) {
        if (wanted.length === m.prefixMaxShards) { partial = true; return; }
        wanted.push(shard(seg, n));
      });
      return Promise.all(wanted).then(function (indexes) {
        var scores = {};
        indexes.forEach(function (index) {
          termScores(index, term).forEach(function (hit) { scores[hit.ref] = (scores[hit.ref] || 0) + hit.score; });
        });
        return scores;
      });
    })).then(function (maps) { return { maps: maps, usable: usable, capped: capped, partial: partial }; });
  }

  /* The shards a term reads: its token's, or for a prefix every shard its range spans. */
  function shardsOf(m, seg, term) {
    var lo = shardFor(seg.shards, term.token);
    var hi = term.prefix ? shardFor(seg.shards, term.token + "\uffff") : lo, out = [];
    for (var n = lo; n <= hi; n++) {
      /* An empty shard (all its rows unpublished) has the next one's boundary: skipped, not counted. */
      if (n < hi && seg.shards[n] === seg.shards[n + 1]) { continue; }
      out.push(n);
    }
    return out;
  }

  /* A result "<segment>:<ref>" → {seg, kind letter, seq, day}: the day from the segment's day table. */
  function parse(m, key) {
    var colon = key.indexOf(":"), seg = m.segs[+key.slice(0, colon)], ref = key.slice(colon + 1);
    var seq = parseInt(ref.slice(1), 36), days = seg.days, lo = 0, hi = days.length;
    while (lo < hi) { var mid = (lo + hi) >> 1; if (days[mid][1] <= seq) { lo = mid + 1; } else { hi = mid; } }
    return { seg: seg, segNo: +key.slice(0, colon), letter: ref[0], seq: seq, day: lo ? days[lo - 1][0] : 0 };
  }

  /* Ordered, filtered results (kind and year need no download): by rank (more terms matched
     first, then score), or by date; newest first among equals. */
  function ordered(m, found, byDate) {
    var info = {}, scores = found.scores, hits = found.hits;
    var keys = Object.keys(scores).filter(function (k) {
      var p = info[k] = parse(m, k);
      if (state.kind && m.kinds[p.letter][0] !== state.kind) { return false; }
      return !state.year || String(Math.floor(p.day / 10000)) === state.year;
    });
    function newest(a, b) {
      var x = info[a], y = info[b];
      return (y.day - x.day) || (x.segNo - y.segNo) || (x.seq - y.seq);
    }
    keys.sort(byDate ? newest : function (a, b) { return (hits[b] - hits[a]) || (scores[b] - scores[a]) || newest(a, b); });
    keys.info = info;
    return keys;
  }

  function rowOf(p) {
    return bucket(p.seg, Math.floor(p.seq / p.seg.bucket)).then(function (rows) { return rows[p.seq % p.seg.bucket]; });
  }

  /* What a query run is matched against: the name, its core, the document number in both bracket
     styles and the credit code, folded. */
  function haystack(row) {
    return T.fold(row[1] + " " + T.coreRuns(row[1]).join(" ") + " " + row[2] + " " + row[2].replace(BRACKETS, "") + " " + row[5] + " " + row[7] + " " + row[8]);
  }

  /* Display rows for refs, verifying that each query run really occurs (bigram AND is not contiguity). */
  function verified(m, refs, needles, offset, limit, exact) {
    var out = [], scanned = 0, index = 0, size = exact ? limit : limit + (limit >> 2);
    function step() {
      if (out.length >= offset + limit || index >= refs.length || scanned >= SCAN_LIMIT + offset) {
        return Promise.resolve({ rows: out.slice(offset, offset + limit), more: index < refs.length, verifiedAll: index >= refs.length, found: out.length });
      }
      var batch = refs.slice(index, index + Math.max(size, offset + limit - out.length));
      index += batch.length;
      scanned += batch.length;
      return Promise.all(batch.map(function (key) {
        var p = refs.info[key];
        return rowOf(p).then(function (row) { return { ref: p.letter, row: row, day: p.day }; });
      })).then(function (items) {
        items.forEach(function (item) {
          var row = item.row;
          if (!row) { return; }
          var hay = haystack(row);
          var ok = needles.every(function (n) { return hay.indexOf(n) >= 0; });
          if (ok && state.auth && row[3] !== state.auth) { ok = false; }
          if (ok) { out.push(item); }
        });
        return step();
      });
    }
    return step();
  }

  /* At most MAX_TERMS of a query's terms, so that a long query (a full name, a document number)
     reads a few shards in each segment, not one for each of its bigrams: long ASCII tokens first (a
     number is rarer than any bigram), then bigrams spread over the query (first, last, middle, …),
     leaving out those capped in any segment. The runs are checked in the rows anyway. */
  function fewestTerms(m, terms, max) {
    max = max || MAX_TERMS;
    if (terms.length <= max) { return terms; }
    var open = terms.filter(function (t) { return !m.segs.some(function (seg) { return Object.prototype.hasOwnProperty.call(seg.capped, t.token); }); });
    if (open.length <= max) { return open.length ? open : terms.slice(0, max); }
    var numbers = open.filter(function (t) { return !t.prefix && !HAN_START.test(t.token) && t.token.length >= 4; });
    var rest = open.filter(function (t) { return numbers.indexOf(t) < 0; });
    /* Bigrams with an administrative character (市响, 县达, 饮有) say little: the core's own first. */
    var inner = rest.filter(function (t) { return !Array.from(t.token).some(function (c) { return ADMIN_CHARS.indexOf(c) >= 0; }); });
    var outer = rest.filter(function (t) { return inner.indexOf(t) < 0; });
    return numbers.sort(function (a, b) { return b.token.length - a.token.length; })
      .concat(spread(inner), spread(outer)).slice(0, max);
  }

  /* First, last, middle, quarters, …: terms from all over the query. */
  function spread(list) {
    var order = [], taken = {};
    function take(i) { if (i >= 0 && !taken[i]) { taken[i] = true; order.push(list[i]); } }
    take(0);
    take(list.length - 1);
    for (var parts = 2; parts < 2 * list.length; parts *= 2) {
      for (var j = 1; j < parts; j += 2) { take(Math.round(j * (list.length - 1) / parts)); }
    }
    return order;
  }

  /* Exact: every term, each query run occurring as it is (or in the name's core). */
  function exactSearch(m, allTerms, needles, pageNo, byDate) {
    var terms = fewestTerms(m, allTerms);
    return candidates(m, terms, null).then(function (found) {
      var refs = ordered(m, found, byDate || found.partial);
      // Every term one token of its own run: the index match is already exact, fetch only the page.
      var exactMatch = !state.auth && terms.length === allTerms.length &&
        needles.every(function (r) { return r.length <= 2 || !HAN_START.test(r); });
      var start = exactMatch ? (pageNo - 1) * PAGE : 0;
      var rest = refs.slice(start);
      rest.info = refs.info;
      return verified(m, rest, needles, (pageNo - 1) * PAGE - start, PAGE, exactMatch).then(function (page) {
        var count = exactMatch ? refs.length : (page.verifiedAll ? page.found : refs.length);
        if (exactMatch) { page.more = pageNo * PAGE < refs.length; page.found = refs.length; }
        return { mode: "exact", page: page, count: count, exact: exactMatch || page.verifiedAll, partial: found.partial, present: found.present };
      });
    });
  }

  /* In order, with gaps: the query's core characters in a name's core in order (滨海金锦 →
     盐城市滨海县金锦…), one of four or more characters may be wrong. Candidates match at least half
     of the core's bigrams, else every character as a prefix; ranked by T.align, then newest. */
  function inOrderSearch(m, q) {
    var chars = T.coreRuns(q).filter(function (r) { return HAN_START.test(r); }).join("");
    var ascii = T.coreRuns(q).filter(function (r) { return !HAN_START.test(r); });
    if (Array.from(chars).length < 2) { return Promise.resolve(null); }
    var maxMiss = Array.from(chars).length >= 4 ? 1 : 0;
    var bigrams = fewestTerms(m, T.queryTerms(chars).filter(function (t) { return !t.prefix; }), RELAXED_TERMS);
    function need(usable) { return usable <= 2 ? 1 : Math.ceil(usable / 2); }
    return candidates(m, bigrams, need).then(function (found) {
      if (Object.keys(found.scores).length) { return found; }
      var ends = Array.from(chars), firstLast = [ends[0], ends[ends.length - 1]];
      var prefixes = firstLast.filter(function (c, i) { return firstLast.indexOf(c) === i; }).map(function (c) { return { token: c, prefix: true }; });
      return candidates(m, prefixes, null);
    }).then(function (found) {
      var all = ordered(m, found, false), kept = [], index = 0, hits = found.hits;
      /* Rows in batches, the candidates that match the most bigrams first, until a page is full,
         RELAXED_SCAN are read, or, once some are kept, the candidates left match fewer bigrams. */
      function step() {
        if (index >= all.length || index >= RELAXED_SCAN || kept.length >= state.page * PAGE) { return Promise.resolve(); }
        if (kept.length && hits[all[index]] < hits[all[0]]) { return Promise.resolve(); }
        var batch = all.slice(index, index + RELAXED_BATCH);
        index += batch.length;
        return Promise.all(batch.map(function (key) {
          var p = all.info[key];
          return rowOf(p).then(function (row) { return { ref: p.letter, row: row, day: p.day, segNo: p.segNo, seq: p.seq }; });
        })).then(function (items) {
          items.forEach(function (item) {
            var row = item.row;
            if (!row || (state.auth && row[3] !== state.auth)) { return; }
            var hay = haystack(row);
            if (!ascii.every(function (n) { return hay.indexOf(n) >= 0; })) { return; }
            var name = T.coreRuns(row[1]).join("");
            item.align = T.align(chars, name, maxMiss);
            if (item.align) { item.span = Array.from(name).slice(item.align[3], item.align[4]).join(""); kept.push(item); }
          });
          return step();
        });
      }
      return step().then(function () {
        function newest(a, b) { return (b.day - a.day) || (a.segNo - b.segNo) || (a.seq - b.seq); }
        kept.sort(state.sort === "date" ? newest : function (a, b) {
          for (var i = 0; i < 3; i++) { if (a.align[i] !== b.align[i]) { return a.align[i] - b.align[i]; } }
          return newest(a, b);
        });
        var offset = (state.page - 1) * PAGE, done = index >= all.length;
        var page = { rows: kept.slice(offset, offset + PAGE), more: kept.length > offset + PAGE || !done, found: kept.length };
        var best = kept[0];
        return {
          mode: "inorder", page: page, count: kept.length, exact: done, partial: found.partial,
          suggestions: best && best.align[0] > 0 ? [best.span] : []
        };
      });
    });
  }

  /* 您是不是要找: the query with one character swapped for a homophone that occurs in the published
     names (search/homophones.json, loaded only here). Variants whose shards are already loaded are
     all tried, and SUGGEST_TRIES of the others; the SUGGESTIONS with the most candidates are offered,
     most first (the likeliest reading, as a spelling corrector prefers the commonest word; 森撑 may
     mean 森晟 or 森程, both names). */
  function suggest(m, q) {
    var text = T.coreRuns(q).join(" "), chars = Array.from(text);
    if (!chars.some(function (c) { return HAN_START.test(c); })) { return Promise.resolve(null); }
    return homophones().then(function (groups) {
      var variants = [];
      chars.forEach(function (c, i) {
        var alternatives = [];
        (groups[c] || []).forEach(function (g) { Array.from(g).forEach(function (a) { if (a !== c && alternatives.indexOf(a) < 0) { alternatives.push(a); } }); });
        alternatives.forEach(function (a, rank) { variants.push([rank, i, chars.slice(0, i).join("") + a + chars.slice(i + 1).join("")]); });
      });
      function cost(v) {
        var missing = 0;
        T.queryTerms(v).forEach(function (t) {
          m.segs.forEach(function (seg) { if (!cache.shards[seg.path + "/" + shardsOf(m, seg, t)[0]]) { missing++; } });
        });
        return missing;
      }
      var ranked = variants.map(function (v) { return [cost(v[2]), v[0], v[1], v[2]]; }).sort(function (a, b) {
        return (a[0] > 0) - (b[0] > 0) || (a[1] - b[1]) || (a[2] - b[2]);
      }).slice(0, SUGGEST_VARIANTS);
      var hits = [], costly = 0;
      function attempt(k) {
        if (k >= ranked.length) {
          hits.sort(function (a, b) { return (b[0] - a[0]) || (a[1] - b[1]); });
          return Promise.resolve(hits.slice(0, SUGGESTIONS).map(function (h) { return h[2]; }));
        }
        if (ranked[k][0] > 0 && costly++ >= SUGGEST_TRIES) { return attempt(k + 1); }
        var v = ranked[k][3];
        return candidates(m, fewestTerms(m, T.queryTerms(v)), null).then(function (found) {
          var n = Object.keys(found.scores).length;
          if (n) { hits.push([n, k, v]); }
          return attempt(k + 1);
        });
      }
      return attempt(0);
    });
  }

  function homophones() {
    return cache.homophones || (cache.homophones = getJSON("homophones.json").then(function (d) {
      var groups = {};
      // "<characters in the names>|<other common characters>" per reading: any may be meant as the first part.
      d.groups.forEach(function (g) {
        var known = g.split("|")[0];
        Array.from(g.replace("|", "")).forEach(function (c) { (groups[c] = groups[c] || []).push(known); });
      });
      return groups;
    }));
  }

  /* Exact, then the query's core (盐城康润 → 康润), then in order, then a homophone suggestion. */
  function searchAll(m, q) {
    var terms = T.queryTerms(q), core = T.coreTerms(q);
    var byDate = state.sort === "date";
    return exactSearch(m, terms, T.runs(q), 1, byDate).then(function (first) {
      if (first.page.rows.length) { return state.page > 1 ? exactSearch(m, terms, T.runs(q), state.page, byDate) : first; }
      var r = first, same = JSON.stringify(core) === JSON.stringify(terms);
      return (same ? Promise.resolve(r) : exactSearch(m, core, T.coreRuns(q), state.page, byDate)).then(function (c) {
        if (c.page.rows.length) { c.mode = same ? "exact" : "core"; return c; }
        return inOrderSearch(m, q).then(function (o) {
          if (o && o.page.rows.length) { return o; }
          return suggest(m, q).then(function (s) { r.suggestions = s; return r; });
        });
      });
    });
  }

  function matchAuthorities(terms) {
    return authorities().then(function (a) {
      var result = null;
      terms.forEach(function (term) {
        var hits = {};
        termScores(a.index, term).forEach(function (h) { hits[h.ref] = h.score; });
        result = result === null ? hits : Object.keys(result).reduce(function (acc, ref) { if (ref in hits) { acc[ref] = result[ref] + hits[ref]; } return acc; }, {});
      });
      var needles = T.runs(terms.map(function (t) { return t.token; }).join(" "));
      return Object.keys(result || {}).map(function (ref) { return a.list[+ref]; })
        .filter(function (entry) { return needles.every(function (n) { return T.fold(entry[0]).indexOf(n) >= 0; }); })
        .slice(0, 8);
    });
  }

  /* -- rendering (textContent only) ------------------------------------------------------------ */

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function formatDate(iso) {
    var p = iso.split("-");
    return p.length === 3 ? (+p[0]) + "年" + (+p[1]) + "月" + (+p[2]) + "日" : iso;
  }

  function recordUrl(m, ref, id) {
    var kind = m.kinds[ref[0]][0];
    return "../records/" + kind + "/" + id.slice(0, 2) + "/" + id + ".html";
  }

  function entityUrl(id) { return "../entities/" + id.slice(0, 2) + "/" + id + ".html"; }

  /* text split into runs, those the query matched marked: every query bigram (of its runs and their
     cores), a lone Han character, an ASCII run. */
  function highlighted(tag, cls, text, q) {
    var node = el(tag, cls), chars = Array.from(text), folded = chars.map(function (c) { return T.fold(c); });
    var marks = chars.map(function () { return false; }), pieces = {};
    T.runs(q).concat(T.coreRuns(q)).forEach(function (run) {
      var cs = Array.from(run);
      if (!HAN_START.test(run)) { pieces[run] = true; return; }
      if (cs.length === 1) { pieces[run] = true; }
      for (var i = 0; i + 1 < cs.length; i++) { pieces[cs[i] + cs[i + 1]] = true; }
    });
    Object.keys(pieces).forEach(function (piece) {
      var len = Array.from(piece).length;
      for (var i = 0; i + len <= folded.length; i++) {
        if (folded.slice(i, i + len).join("") === piece) { for (var j = i; j < i + len; j++) { marks[j] = true; } }
      }
    });
    var run = "", on = false;
    function flush() { if (run) { node.appendChild(on ? el("mark", null, run) : document.createTextNode(run)); } run = ""; }
    chars.forEach(function (c, i) { if (marks[i] !== on) { flush(); on = marks[i]; } run += c; });
    flush();
    return node;
  }

  var FILTER_NAMES = { kind: "类别", year: "年份", auth: "机关" };

  function activeFilters(m) {
    var out = [];
    if (state.kind) {
      var label = state.kind;
      Object.keys(m.kinds).forEach(function (k) { if (m.kinds[k][0] === state.kind) { label = m.kinds[k][1]; } });
      out.push(["kind", label]);
    }
    if (state.year) { out.push(["year", state.year + "年"]); }
    if (state.auth) { out.push(["auth", state.auth]); }
    return out;
  }

  /* 已筛选：行政处罚 × … — each chip removes its filter; with none found, one button searches all. */
  function filterChips(m, empty) {
    var filters = activeFilters(m);
    if (!filters.length) { return null; }
    var p = el("p", "filter-chips");
    p.appendChild(el("span", null, "已筛选："));
    filters.forEach(function (f) {
      var b = el("button", "chip", f[1] + " ×");
      b.type = "button";
      b.setAttribute("aria-label", "取消筛选" + FILTER_NAMES[f[0]] + "：" + f[1]);
      b.addEventListener("click", function () { clearFilters([f[0]]); });
      p.appendChild(b);
    });
    if (empty) {
      var all = el("button", "chip chip-all", "在全部类别和年份中查找");
      all.type = "button";
      all.addEventListener("click", function () { clearFilters(["kind", "year", "auth"]); });
      p.appendChild(all);
    }
    return p;
  }

  function clearFilters(names) {
    names.forEach(function (n) { state[n] = ""; var s = $("f-" + n); if (s) { s.value = ""; } });
    state.page = 1;
    sync(true);
    run();
  }

  function suggestionLine(texts) {
    var p = el("p", "suggestion");
    p.appendChild(el("span", null, "您是不是要找："));
    texts.forEach(function (text, i) {
      if (i) { p.appendChild(document.createTextNode("、")); }
      var a = el("a", null, text);
      a.href = "?" + query(Object.assign({}, state, { q: text, page: 1 }));
      a.addEventListener("click", function (e) { e.preventDefault(); state.q = text; state.page = 1; $("q").value = text; sync(true); run(); });
      p.appendChild(a);
    });
    return p;
  }

  function renderResults(m, r, auths, q) {
    var box = $("results"), page = r.page;
    box.textContent = "";
    var chips = filterChips(m, !page.rows.length);
    if (chips) { box.appendChild(chips); }
    if (r.suggestions && r.suggestions.length) { box.appendChild(suggestionLine(r.suggestions)); }
    if (auths.length) {
      var section = el("section", "auth-results");
      section.setAttribute("aria-label", "相关机关");
      section.appendChild(el("h2", null, "相关机关"));
      var ul = el("ul", "group-list");
      auths.forEach(function (a) {
        var li = el("li");
        var link = el("a", null, a[0]);
        link.href = "../" + a[3];
        li.appendChild(link);
        li.appendChild(el("span", "count", " " + a[1] + " " + a[2] + " 条"));
        ul.appendChild(li);
      });
      section.appendChild(ul);
      box.appendChild(section);
    }
    if (!page.rows.length) {
      if (!auths.length) {
        var none = el("div", "notice");
        var tips = el("ul");
        ["请检查是否有错别字，或只输入企业名称中有代表性的两三个字；",
         "统一社会信用代码请输入其中连续的至少 6 位（开头、第 9 位起或末尾）；决定书文号的括号写法不限，如“盐市监罚 2026 12”；",
         "已撤下或超过公示期限的信息不再公示；也可以从首页按类别浏览全部信息。"].forEach(function (t) { tips.appendChild(el("li", null, t)); });
        none.appendChild(tips);
        box.appendChild(none);
      }
      return;
    }
    /* One subject, several results: counted; one name, several subjects: said. */
    var perEntity = {}, entitiesOfName = {};
    page.rows.forEach(function (item) {
      var key = item.row[6] || ("name:" + item.row[1]);
      perEntity[key] = (perEntity[key] || 0) + 1;
      (entitiesOfName[item.row[1]] = entitiesOfName[item.row[1]] || {})[key] = true;
    });
    var ol = el("ol", "results"), shown = {};
    page.rows.forEach(function (item) {
      var row = item.row, kindLabel = m.kinds[item.ref[0]][1], key = row[6] || ("name:" + row[1]);
      var li = el("li", "result");
      var link = highlighted("a", "result-title", row[1], q);
      link.href = recordUrl(m, item.ref, row[0]);
      li.appendChild(link);
      var meta = el("div", "result-meta");
      meta.appendChild(el("span", "tag tag-" + m.kinds[item.ref[0]][0], kindLabel));
      if (row[5]) {
        var code = el("span", "code");
        code.appendChild(el("span", "label", "统一社会信用代码 "));
        code.appendChild(highlighted("code", null, row[5], q));
        meta.appendChild(code);
      }
      li.appendChild(meta);
      var meta2 = el("div", "result-meta");
      meta2.appendChild(highlighted("span", "docno", row[2], q));
      meta2.appendChild(el("span", null, row[3]));
      var time = el("time", null, formatDate(row[4]));
      time.setAttribute("datetime", row[4]);
      meta2.appendChild(time);
      li.appendChild(meta2);
      if (row[7]) { li.appendChild(highlighted("div", "result-extra", row[7], q)); }
      if (row[8]) { li.appendChild(highlighted("div", "result-extra", row[8], q)); }
      var more = el("div", "result-links");
      if (row[6]) {
        var archive = el("a", "archive", "信用档案");
        archive.href = entityUrl(row[6]);
        archive.setAttribute("aria-label", row[1] + (row[5] ? "（" + row[5] + "）" : "") + "的信用档案");
        more.appendChild(archive);
      }
      if (perEntity[key] > 1 && !shown[key]) { more.appendChild(el("span", "group-count", "该主体本页共 " + perEntity[key] + " 条")); }
      if (Object.keys(entitiesOfName[row[1]]).length > 1) { more.appendChild(el("span", "same-name", "同名主体，请核对统一社会信用代码")); }
      shown[key] = true;
      if (more.childNodes.length) { li.appendChild(more); }
      ol.appendChild(li);
    });
    box.appendChild(ol);
    var nav = el("nav", "pager");
    nav.setAttribute("aria-label", "搜索结果分页");
    var list = el("ul");
    if (state.page > 1) { list.appendChild(pageLink("上一页", state.page - 1)); }
    list.appendChild(el("li", null, "第 " + state.page + " 页"));
    if (page.more || page.found > state.page * PAGE) { list.appendChild(pageLink("下一页", state.page + 1)); }
    nav.appendChild(list);
    box.appendChild(nav);
  }

  function pageLink(text, number) {
    var li = el("li"), a = el("a", null, text);
    a.href = "?" + query(Object.assign({}, state, { page: number }));
    a.addEventListener("click", function (e) { e.preventDefault(); state.page = number; sync(true); run(); window.scrollTo(0, 0); });
    li.appendChild(a);
    return li;
  }

  function status(text) { $("search-status").textContent = text; }

  /* -- state, URL, filters --------------------------------------------------------------------- */

  function query(s) {
    var p = new URLSearchParams();
    if (s.q) { p.set("q", s.q); }
    ["kind", "year", "auth"].forEach(function (k) { if (s[k]) { p.set(k, s[k]); } });
    if (s.sort !== "rel") { p.set("sort", s.sort); }
    if (s.page > 1) { p.set("page", String(s.page)); }
    return p.toString();
  }

  function readUrl() {
    var p = new URLSearchParams(window.location.search);
    state.q = (p.get("q") || "").slice(0, 100);
    state.kind = p.get("kind") || "";
    state.year = p.get("year") || "";
    state.auth = p.get("auth") || "";
    state.sort = p.get("sort") === "date" ? "date" : "rel";
    state.page = Math.max(1, parseInt(p.get("page") || "1", 10) || 1);
  }

  function sync(push) {
    var url = window.location.pathname + (query(state) ? "?" + query(state) : "");
    if (push) { window.history.pushState(null, "", url); } else { window.history.replaceState(null, "", url); }
  }

  function select(id, label, options, value) {
    var wrap = el("label", null, label);
    wrap.setAttribute("for", id);
    var s = el("select");
    s.id = id;
    options.forEach(function (o) { var opt = el("option", null, o[1]); opt.value = o[0]; s.appendChild(opt); });
    s.value = value;
    wrap.appendChild(s);
    return wrap;
  }

  function buildFilters(m) {
    var box = el("div", "search-filters");
    box.id = "search-filters";
    var kinds = [["", "全部类别"]].concat(Object.keys(m.kinds).map(function (k) { return [m.kinds[k][0], m.kinds[k][1]]; }));
    var years = [["", "全部年份"]].concat(m.years.map(function (y) { return [String(y), y + "年"]; }));
    box.appendChild(select("f-kind", "类别", kinds, state.kind));
    box.appendChild(select("f-year", "年份", years, state.year));
    box.appendChild(select("f-auth", "机关", [["", "全部机关"]].concat(state.auth ? [[state.auth, state.auth]] : []), state.auth));
    box.appendChild(select("f-sort", "排序", [["rel", "按相关度"], ["date", "按日期（新→旧）"]], state.sort));
    var form = document.querySelector(".search-form");
    form.parentNode.insertBefore(box, form.nextSibling);
    [["f-kind", "kind"], ["f-year", "year"], ["f-auth", "auth"], ["f-sort", "sort"]].forEach(function (pair) {
      $(pair[0]).addEventListener("change", function (e) { state[pair[1]] = e.target.value; state.page = 1; sync(true); run(); });
    });
    $("f-auth").addEventListener("focus", fillAuthorities, { once: true });
    if (state.auth) { fillAuthorities(); }
  }

  function fillAuthorities() {
    authorities().then(function (a) {
      var s = $("f-auth"), seen = {};
      a.list.map(function (e) { return e[0]; }).sort().forEach(function (name) {
        if (seen[name] || name === state.auth) { return; }
        seen[name] = true;
        var opt = el("option", null, name);
        opt.value = name;
        s.appendChild(opt);
      });
    });
  }

  /* -- the search ------------------------------------------------------------------------------ */

  function run() {
    var id = ++runId;
    var q = state.q.trim();
    if (!q) { $("results").textContent = ""; status(""); return Promise.resolve(); }
    var terms = T.queryTerms(q);
    if (!terms.length) { $("results").textContent = ""; status("请输入企业名称、统一社会信用代码或决定书文号中的文字或数字。"); return Promise.resolve(); }
    status("正在查询…");
    return manifest().then(function (m) {
      var wantAuths = state.page === 1 && !state.kind && !state.auth;
      return Promise.all([searchAll(m, q), wantAuths ? matchAuthorities(terms) : Promise.resolve([])]).then(function (both) {
        if (id !== runId) { return; }
        var r = both[0], auths = both[1], rows = r.page.rows.length;
        var filters = activeFilters(m).map(function (f) { return f[1]; });
        var scope = filters.length ? "（已筛选：" + filters.join("、") + "）" : "";
        var msg;
        if (rows) {
          var parts = [(r.exact ? "" : "约 ") + r.count + " 条公示信息"];
          if (auths.length) { parts.push(auths.length + " 个相关机关"); }
          msg = "找到 " + parts.join("，") + scope + "。";
          if (r.mode === "core") { msg += " 已忽略“盐城”“县”“有限公司”等通用词。"; }
          if (r.mode === "inorder") { msg += " 没有名称完全相同的；以下名称依次含有所输入的字，最接近的在前。"; }
        } else if (auths.length) {
          msg = "找到 " + auths.length + " 个相关机关" + scope + "，没有相符的公示信息。";
        } else {
          msg = "没有找到与“" + q + "”相符的公示信息" + scope + "。";
        }
        var single = terms.length === 1 && terms[0].prefix && T.runs(q)[0].length === 1;
        if (r.partial) { msg += " 查询词过于宽泛，只显示最新的部分结果（按日期从新到旧）；请输入更多文字。"; }
        else if (single && rows) { msg += " 只输入了一个字，结果可能很多；请输入更多文字。"; }
        status(msg);
        renderResults(m, r, auths, q);
        document.body.setAttribute("data-search-done", String(id));
      });
    }).catch(function (err) {
      if (id === runId) { status("查询暂时无法使用（" + err.message + "），请稍后再试，或从首页按类别浏览。"); }
    });
  }

  function init() {
    readUrl();
    var input = $("q");
    input.value = state.q;
    manifest().then(function (m) {
      PAGE = m.page || PAGE;
      buildFilters(m);
    });
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { state.q = input.value.slice(0, 100); state.page = 1; sync(false); run(); }, DEBOUNCE_MS);
    });
    document.querySelector(".search-form").addEventListener("submit", function (e) {
      e.preventDefault();
      clearTimeout(timer);
      state.q = input.value.slice(0, 100);
      state.page = 1;
      sync(true);
      run();
    });
    window.addEventListener("popstate", function () { readUrl(); input.value = state.q; run(); });
    if (state.q) { run(); }
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
