"""Site settings: Pelican's own, plus the generator's (see docs/settings.md for every one)."""

SITENAME = "信用盐城"
SITEURL = ""
TIMEZONE = "Asia/Shanghai"
DEFAULT_LANG = "zh-cn"
LOCALE = ("C.UTF-8",)

PATH = "content"
THEME = "theme"
PLUGIN_PATHS = ["."]
PLUGINS = ["generator.plugin"]

# Records are not Articles: Pelican reads only the Markdown pages in content/pages/.
ARTICLE_PATHS = []
PAGE_PATHS = ["pages"]
# Guide pages are Markdown only: reStructuredText can include any file of the build machine
# (`.. include::`) and HTML pages pass raw markup; neither is read.
READERS = {"rst": None, "html": None, "htm": None}
STATIC_PATHS = []
IGNORE_FILES = [".#*", ".*"]
PAGE_URL = "pages/{slug}.html"
PAGE_SAVE_AS = "pages/{slug}.html"
SLUGIFY_SOURCE = "basename"
DIRECT_TEMPLATES = []
PAGINATED_TEMPLATES = {}
AUTHOR_SAVE_AS = CATEGORY_SAVE_AS = TAG_SAVE_AS = ""
AUTHORS_SAVE_AS = CATEGORIES_SAVE_AS = TAGS_SAVE_AS = ARCHIVES_SAVE_AS = ""
ARTICLE_SAVE_AS = ARTICLE_LANG_SAVE_AS = PAGE_LANG_SAVE_AS = DRAFT_SAVE_AS = DRAFT_PAGE_SAVE_AS = ""
FEED_ALL_ATOM = FEED_ALL_RSS = CATEGORY_FEED_ATOM = TRANSLATION_FEED_ATOM = AUTHOR_FEED_ATOM = AUTHOR_FEED_RSS = None
RELATIVE_URLS = True
CACHE_CONTENT = False
LOAD_CONTENT_CACHE = False
DELETE_OUTPUT_DIRECTORY = False
OUTPUT_SOURCES = False
JINJA_ENVIRONMENT = {"trim_blocks": True, "lstrip_blocks": True, "autoescape": True, "extensions": [], "auto_reload": False}
MARKDOWN = {
    "extension_configs": {"markdown.extensions.extra": {}, "markdown.extensions.toc": {}},
    "output_format": "html5",
}

# --- 信用盐城 settings (defaults in generator/settings.py; documented in docs/settings.md) ---
SITE_SUBTITLE = "盐城市社会信用信息公示（演示站点）"
APPROVALS_REQUIRED = 1
