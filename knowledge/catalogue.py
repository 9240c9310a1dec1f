"""The service catalogue: one YAML file per service, with a ``zh`` and an ``en`` document each.

A file looks like::

    id: e-invoice                      # the file is named <id>.yaml
    category: invoices
    deep_link: app://service/e-invoice
    zh: {title: ..., synonyms: [...], summary: ..., needs: [...], steps: [...]}
    en: {title: ..., synonyms: [...], summary: ..., needs: [...], steps: [...]}

:func:`load_catalogue` validates every file and returns frozen dataclasses; a broken file is a
:class:`CatalogueError` that names the file and the field. Each :class:`ServiceDoc` (one service in
one language) carries a content hash, which ingestion compares to decide what to re-embed.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from knowledge.errors import KnowledgeError

LANGS: tuple[str, ...] = ("zh", "en")
DEFAULT_CATALOGUE_DIR = Path(__file__).resolve().parent / "services"
_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_DEEP_LINK = re.compile(r"^[a-z][a-z0-9+.-]*://\S+$")


class CatalogueError(KnowledgeError):
    """A catalogue file is missing, unreadable or malformed."""

    code = "catalogue-invalid"


@dataclass(frozen=True)
class ServiceDoc:
    """One service described in one language: what is indexed and what a lookup returns."""

    service_id: str
    lang: str
    category: str
    deep_link: str
    title: str
    synonyms: tuple[str, ...]
    summary: str
    needs: tuple[str, ...]
    steps: tuple[str, ...]

    @property
    def key(self) -> tuple[str, str]:
        return self.service_id, self.lang

    @property
    def text(self) -> str:
        """The whole document as one text: title, synonyms, summary, needs, steps."""
        sep = "，" if self.lang == "zh" else ", "
        end = "。" if self.lang == "zh" else ". "
        parts = [self.title, sep.join(self.synonyms), self.summary, sep.join(self.needs), sep.join(self.steps)]
        return end.join(p.strip().rstrip("。.") for p in parts if p.strip())

    @property
    def content_hash(self) -> str:
        """A stable hash of everything indexed or returned for this document."""
        fields = [self.service_id, self.lang, self.category, self.deep_link, self.title,
                  list(self.synonyms), self.summary, list(self.needs), list(self.steps)]
        blob = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
        return hashlib.blake2b(blob.encode("utf-8"), digest_size=16).hexdigest()


@dataclass(frozen=True)
class Service:
    id: str
    category: str
    deep_link: str
    docs: tuple[ServiceDoc, ...]  # one per language, in LANGS order

    def doc(self, lang: str) -> ServiceDoc:
        for doc in self.docs:
            if doc.lang == lang:
                return doc
        raise KeyError(f"service {self.id!r} has no {lang!r} document")


@dataclass(frozen=True)
class Catalogue:
    services: tuple[Service, ...]  # sorted by id

    def __len__(self) -> int:
        return len(self.services)

    def __iter__(self) -> Iterator[Service]:
        return iter(self.services)

    def get(self, service_id: str) -> Service | None:
        return next((s for s in self.services if s.id == service_id), None)

    def docs(self) -> list[ServiceDoc]:
        return [doc for service in self.services for doc in service.docs]


def _text(raw: Any, where: str) -> str:
    if not isinstance(raw, str | int | float) or isinstance(raw, bool) or not str(raw).strip():
        raise CatalogueError(f"{where}: expected a non-empty string, got {raw!r}")
    return str(raw).strip()


def _texts(raw: Any, where: str, *, allow_empty: bool = False) -> tuple[str, ...]:
    if raw is None and allow_empty:
        return ()
    if not isinstance(raw, list) or (not raw and not allow_empty):
        raise CatalogueError(f"{where}: expected a non-empty list of strings, got {raw!r}")
    return tuple(_text(item, f"{where}[{i}]") for i, item in enumerate(raw))


def parse_service(data: Any, source: str) -> Service:
    """Validate one parsed YAML mapping; ``source`` names it in error messages."""
    if not isinstance(data, dict):
        raise CatalogueError(f"{source}: expected a mapping at the top level")
    service_id = _text(data.get("id"), f"{source}: id")
    if not _ID.match(service_id):
        raise CatalogueError(f"{source}: id {service_id!r} must be lowercase words joined by '-'")
    category = _text(data.get("category", "other"), f"{source}: category")
    deep_link = _text(data.get("deep_link"), f"{source}: deep_link")
    if not _DEEP_LINK.match(deep_link):
        raise CatalogueError(f"{source}: deep_link {deep_link!r} is not a URI like app://service/{service_id}")
    docs = []
    for lang in LANGS:
        block = data.get(lang)
        where = f"{source}: {lang}"
        if not isinstance(block, dict):
            raise CatalogueError(f"{where}: missing the {lang!r} block")
        docs.append(ServiceDoc(
            service_id=service_id, lang=lang, category=category, deep_link=deep_link,
            title=_text(block.get("title"), f"{where}.title"),
            synonyms=_texts(block.get("synonyms"), f"{where}.synonyms", allow_empty=True),
            summary=_text(block.get("summary"), f"{where}.summary"),
            needs=_texts(block.get("needs"), f"{where}.needs", allow_empty=True),
            steps=_texts(block.get("steps"), f"{where}.steps"),
        ))
    return Service(id=service_id, category=category, deep_link=deep_link, docs=tuple(docs))


def load_catalogue(directory: str | Path = DEFAULT_CATALOGUE_DIR) -> Catalogue:
    """Read and validate every ``*.yaml`` / ``*.yml`` file of a directory."""
    directory = Path(directory)
    if not directory.is_dir():
        raise CatalogueError(f"catalogue directory {str(directory)!r} does not exist")
    services: dict[str, Service] = {}
    for path in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise CatalogueError(f"{path.name}: cannot read ({exc})") from exc
        service = parse_service(data, path.name)
        if service.id != path.stem:
            raise CatalogueError(f"{path.name}: id {service.id!r} differs from the file name")
        if service.id in services:
            raise CatalogueError(f"{path.name}: duplicate service id {service.id!r}")
        services[service.id] = service
    return Catalogue(services=tuple(services[k] for k in sorted(services)))
