"""Pelican's Writer with a lean path for the generator's million pages.

Registered through ``signals.get_writer``, so Pelican's own pages and our record pages go through
the same class. What it changes, each measured on this project's VM (10^6 records ≈ 1.8 million
files, so whatever a file costs is paid 1.8 million times a build; the figures are in
docs/scaling.md, "Measurements behind the code"):

- files are written as UTF-8 bytes with ``os.open``/``os.write`` (:func:`write_new_file`): a
  text-mode ``open`` costs more system time than a binary one, and a binary ``open`` still adds
  three system calls (``fstat``, ``ioctl``, ``lseek``) and two objects per file;
- a page name of plain folders and a file (all of ours) is joined to the output folder without
  Pelican's ``sanitised_join`` (a check per call), which would return the same path;
- each output folder is created once per writer, not checked with ``os.makedirs`` for every file
  (two system calls);
- the local context is a copy of the small context our generator passes, not of Pelican's full
  settings;
- pages filled from stencils (:mod:`generator.stencils`) are written by :meth:`write_html` with
  the same checks and signal, without a template call.

Everything else is Pelican's behaviour: relative ``SITEURL``, ``output_file``, the refusal to
write one file twice, and the ``content_written`` signal. Pagination and ``override_output`` use
Pelican's own code path unchanged.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Any

from pelican import signals
from pelican.utils import get_relative_path, path_to_url, sanitised_join
from pelican.writers import FileOverwriteFailedError, Writer

log = logging.getLogger(__name__)


def write_new_file(path: str | os.PathLike[str], data: bytes) -> None:
    """Create or replace ``path`` with ``data``: three system calls, no Python file object."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


# Relative names of folders and a file, none starting with a dot: sanitised_join (a call for each
# of 1.8 million files at 10^6 records) would return the output folder joined with them unchanged.
_PLAIN_NAME = re.compile(r"(?:[A-Za-z0-9_-][A-Za-z0-9_.-]*/)*[A-Za-z0-9_-][A-Za-z0-9_.-]*")


class DisclosureWriter(Writer):
    """``prover`` (verify's cold shadow build, :class:`generator.proof.Prover`): a page equal to the
    live site's file of the same name is proved instead of written."""

    def __init__(self, output_path: str, settings: Any = None, prover: Any = None):
        super().__init__(output_path, settings=settings)
        self.prover = prover
        self._folders: set[str] = set()
        # Absolute, as sanitised_join makes a path
        self._base = sanitised_join(output_path, "") + "/"

    def write_html(self, name: str, html: str) -> None:
        """Write a page rendered without a template call here (:mod:`generator.stencils`): the same
        path check, refusal to write one file twice and ``content_written`` signal."""
        self._write_bytes(name, html.encode("utf-8"), {"output_file": name})

    def write_file(
        self,
        name: Any,
        template: Any,
        context: dict[str, Any],
        relative_urls: bool = False,
        paginated: Any = None,
        template_name: Any = None,
        override_output: bool = False,
        url: Any = None,
        **kwargs: Any,
    ) -> None:
        if not name or paginated or override_output or {"articles", "dates"} & kwargs.keys():
            return super().write_file(
                name,
                template,
                context,
                relative_urls=relative_urls,
                paginated=paginated,
                template_name=template_name,
                override_output=override_output,
                url=url,
                **kwargs,
            )
        local = dict(context)
        local["localsiteurl"] = local.get("localsiteurl")
        if relative_urls:
            local["SITEURL"] = local["localsiteurl"] = path_to_url(get_relative_path(name))
        local["output_file"] = name
        local.update(kwargs)
        if local["localsiteurl"]:
            context["localsiteurl"] = local["localsiteurl"]
        self._write_bytes(name, template.render(local).encode("utf-8"), local)

    def _write_bytes(self, name: str, data: bytes, context: dict[str, Any]) -> None:
        # Our pages' names: nothing to normalise, nowhere to escape to
        plain = _PLAIN_NAME.fullmatch(name)
        path = self._base + name if plain else sanitised_join(self.output_path, name)
        if path in self._written_files or path in self._overridden_files:
            raise FileOverwriteFailedError(
                f'Failed to overwrite "{path}" as Pelican has already written to it previously'
            )
        self._written_files.add(path)
        if plain and self.prover is not None and self.prover.proves(name, data):
            signals.content_written.send(path, context=context)
            return
        folder = os.path.dirname(path)
        if folder not in self._folders:
            os.makedirs(folder, exist_ok=True)
            self._folders.add(folder)
        write_new_file(path, data)
        log.debug('Writing "%s"', path)
        signals.content_written.send(path, context=context)
