/*
 * 信用盐城 search engine, without the page: reads the static index (the manifests, in each segment
 * the shard of each query term and the display buckets of the rows it checks, all as gzip twins
 * where the browser can inflate them) and answers a query with the fallback chain of docs/search.md
 * (exact, core, a code's part, in order, homophone suggestions). Results are "<segment>:<ref>"
 * (ref = kind letter + base-36 position) and display rows; `opts` carries the page's filters, order
 * and page number ({kind, year, auth, sort, page}). Used by search.js; needs tokenizer.js and lunr.
 */
(function (root) {
  "use strict";
  var T = root.XyycTokenizer, lunr = root.lunr;
  var PAGE = 20, SCAN_LIMIT = 400, RELAXED_SCAN = 80, RELAXED_BATCH = 24, RELAXED_TERMS = 4;
  var SUGGEST_TRIES = 3, SUGGEST_VARIANTS = 40, SUGGESTIONS = 3, MAX_TERMS = 3;
  var ADMIN_CHARS = T.ADMIN_WORDS.join("");
  var HAN_START = /^[\u3007\u3400-\u9fff\uf900-\ufaff]/;
  var WINDOW = /^[0-9a-z]{6}$/;  /* a code-index window (code_windows in search.py) */
  var BRACKETS = /[〔〕\[\]()（）【】［］﹝﹞<>《》{}｛｝]/g;  /* as _BRACKETS in generator/search.py */
  var cache = { manifest: null, shards: {}, docs: {}, codes: {}, authorities: null, homophones: null };

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
      PAGE = m.page || PAGE;
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
      var scores = {}, hits = {}, partial = false;
      found.forEach(function (f, i) {
        partial = partial || f.partial;
        var counts = {}, sums = {}, bonus = {};
        f.maps.forEach(function (map, t) {
          var capped = f.capped[t];
          Object.keys(map).forEach(function (ref) {
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
      return { scores: scores, hits: hits, partial: partial };
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
  function ordered(m, found, byDate, opts) {
    var info = {}, scores = found.scores, hits = found.hits;
    var keys = Object.keys(scores).filter(function (k) {
      var p = info[k] = parse(m, k);
      if (opts.kind && m.kinds[p.letter][0] !== opts.kind) { return false; }
      return !opts.year || String(Math.floor(p.day / 10000)) === opts.year;
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
  function verified(m, refs, needles, offset, limit, exact, opts) {
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
          if (ok && opts.auth && row[3] !== opts.auth) { ok = false; }
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

  /* Exact: every term, each query run occurring as it is (or in the name's core); `check`: read
     the rows even where the terms are the runs themselves. */
  function exactSearch(m, allTerms, needles, pageNo, byDate, opts, check) {
    var terms = fewestTerms(m, allTerms);
    return candidates(m, terms, null).then(function (found) {
      return pageOf(m, found, terms, allTerms, needles, pageNo, byDate, opts, check);
    });
  }

  /* A page of candidates: ordered, the rows fetched and (unless the index match is exact) each
     query run checked in them. */
  function pageOf(m, found, terms, allTerms, needles, pageNo, byDate, opts, check) {
    var refs = ordered(m, found, byDate || found.partial, opts);
    // Every term one token of its own run: the index match is already exact, fetch only the page.
    var exactMatch = !opts.auth && !check && terms.length === allTerms.length &&
      needles.every(function (r) { return r.length <= 2 || !HAN_START.test(r); });
    var start = exactMatch ? (pageNo - 1) * PAGE : 0;
    var rest = refs.slice(start);
    rest.info = refs.info;
    return verified(m, rest, needles, (pageNo - 1) * PAGE - start, PAGE, exactMatch, opts).then(function (page) {
      var count = exactMatch ? refs.length : (page.verifiedAll ? page.found : refs.length);
      if (exactMatch) { page.more = pageNo * PAGE < refs.length; page.found = refs.length; }
      return { mode: "exact", page: page, count: count, exact: exactMatch || page.verifiedAll, partial: found.partial };
    });
  }

  /* In order, with gaps: the query's core characters in a name's core in order (滨海金锦 →
     盐城市滨海县金锦…), one of four or more characters may be wrong. Candidates match at least half
     of the core's bigrams, else every character as a prefix; ranked by T.align, then newest. */
  function inOrderSearch(m, q, opts) {
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
      var all = ordered(m, found, false, opts), kept = [], index = 0;
      /* Rows in batches, the candidates that match the most bigrams first, until a page is full or
         RELAXED_SCAN are read. */
      function step() {
        if (index >= all.length || index >= RELAXED_SCAN || kept.length >= opts.page * PAGE) { return Promise.resolve(); }
        var batch = all.slice(index, index + RELAXED_BATCH);
        index += batch.length;
        return Promise.all(batch.map(function (key) {
          var p = all.info[key];
          return rowOf(p).then(function (row) { return { ref: p.letter, row: row, day: p.day, segNo: p.segNo, seq: p.seq }; });
        })).then(function (items) {
          items.forEach(function (item) {
            var row = item.row;
            if (!row || (opts.auth && row[3] !== opts.auth)) { return; }
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
        kept.sort(opts.sort === "date" ? newest : function (a, b) {
          for (var i = 0; i < 3; i++) { if (a.align[i] !== b.align[i]) { return a.align[i] - b.align[i]; } }
          return newest(a, b);
        });
        var offset = (opts.page - 1) * PAGE, done = index >= all.length;
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

  /* Any part of a credit code (0922MWW4 of 91320922MWW40Y37GW): each segment's code index holds
     every six characters of a code that reach its 组织机构代码 part (CODE_WINDOWS in search.py), in
     file codes/<base-36 value % count>; an identifier of six or more is looked up by its last six
     and checked in the rows, newest first. */
  function codeShard(seg, n) {
    var key = seg.path + "/" + n;
    return cache.codes[key] || (cache.codes[key] = getJSON(seg.path + "/codes/" + n + ".json"));
  }
  function fragmentSearch(m, q, opts) {
    var runs = T.runs(q);
    var windows = runs.filter(function (r) { return !HAN_START.test(r) && r.length >= 6; })
      .map(function (r) { return r.slice(-6); })
      .filter(function (w) { return WINDOW.test(w); });
    if (!windows.length) { return Promise.resolve(null); }
    return Promise.all(m.segs.map(function (seg) {
      if (!seg.codes) { return { refs: [], partial: false }; }
      return Promise.all(windows.map(function (w) {
        return codeShard(seg, parseInt(w, 36) % seg.codes).then(function (d) {
          return { refs: d.w[w] || [], capped: Object.prototype.hasOwnProperty.call(d.capped, w) };
        });
      })).then(function (lists) {
        var refs = lists[0].refs.filter(function (ref) { return lists.every(function (l) { return l.refs.indexOf(ref) >= 0; }); });
        return { refs: refs, partial: lists.some(function (l) { return l.capped; }) };
      });
    })).then(function (found) {
      var scores = {}, hits = {}, partial = false;
      found.forEach(function (f, i) {
        partial = partial || f.partial;
        f.refs.forEach(function (ref) { scores[i + ":" + ref] = 1; hits[i + ":" + ref] = 1; });
      });
      return pageOf(m, { scores: scores, hits: hits, partial: partial }, windows, windows, runs, opts.page, true, opts, true);
    });
  }

  /* Exact, then the query's core (盐城康润 → 康润), then a code's part, then in order, then a
     homophone suggestion. */
  function searchAll(m, q, opts) {
    var terms = T.queryTerms(q), core = T.coreTerms(q);
    var byDate = opts.sort === "date";
    return exactSearch(m, terms, T.runs(q), 1, byDate, opts).then(function (first) {
      if (first.page.rows.length) { return opts.page > 1 ? exactSearch(m, terms, T.runs(q), opts.page, byDate, opts) : first; }
      var r = first, same = JSON.stringify(core) === JSON.stringify(terms);
      return (same ? Promise.resolve(r) : exactSearch(m, core, T.coreRuns(q), opts.page, byDate, opts)).then(function (c) {
        if (c.page.rows.length) { c.mode = same ? "exact" : "core"; return c; }
        return fragmentSearch(m, q, opts);
      }).then(function (t) {
        if (t && t.page.rows.length) { return t; }
        return inOrderSearch(m, q, opts).then(function (o) {
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
  root.XyycSearchEngine = {
    HAN_START: HAN_START,
    manifest: manifest,
    authorities: authorities,
    search: searchAll,
    matchAuthorities: matchAuthorities
  };
})(self);
