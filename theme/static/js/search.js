/* search: implemented with the search index (issue: client-side search) */
